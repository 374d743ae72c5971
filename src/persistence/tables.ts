import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';

/** bigint columns: the drivers return strings or bigints; repositories map to number. */
type Bigint = ColumnType<string | number | bigint, number, number>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface ProductsTable {
  id: string;
  name: string;
  price: Bigint;
  currency: string;
  active: boolean;
  stock: number | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface OrdersTable {
  id: string;
  user_id: string;
  status: string;
  currency: string;
  total: Bigint;
  email: string | null;
  shipping_address: Json<unknown> | null;
  tracking: Json<unknown> | null;
  transaction_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrderItemsTable {
  order_id: string;
  position: number;
  product_id: string;
  name: string;
  quantity: number;
  unit_price: Bigint;
  line_total: Bigint;
  quantity_cancelled: Generated<number>;
  quantity_returned: Generated<number>;
}

export interface PaymentTransactionsTable {
  id: string;
  order_id: string;
  customer_id: string;
  provider: string;
  provider_reference: string | null;
  status: string;
  amount: Bigint;
  currency: string;
  source: string;
  decline_code: string | null;
  failure_reason: string | null;
  order_draft: Json<unknown>;
  abandoned: Generated<boolean>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Until when a request or a reconciler pass holds this `processing` charge (migration 009). */
  leased_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** What the customer must do while the charge waits for them; null otherwise (migration 012). */
  next_action: ColumnType<unknown, string | null | undefined, string | null>;
  /** When an order that waits for its customer expires; set once the charge asked for the customer. */
  action_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** What the charge captures (its whole amount), or null when it only authorizes (migration 017). */
  charge_capture: ColumnType<string | number | bigint | null, number | null | undefined, never>;
  /** When the provider stops honouring the charge's authorization, once it succeeded uncaptured. */
  authorization_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  authorization_expiry_warned_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The charge's authorization's id when it is not the payment's (migration 007's refunded payments). */
  charge_authorization_id: ColumnType<string | null, never, never>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/**
 * A payment's ledger sums (a view, migrations 014, 017): the later movements' sums, kept by the ledger's triggers
 * alone in `payment_movement_totals`, plus the charge its payment row records. Read, never written, by the application.
 */
export interface PaymentTotalsTable {
  transaction_id: string;
  currency: string;
  authorized: ColumnType<string, never, never>;
  captured: ColumnType<string, never, never>;
  refunded: ColumnType<string, never, never>;
  voided: ColumnType<string, never, never>;
  pending_authorizations: ColumnType<string, never, never>;
  pending_captures: ColumnType<string, never, never>;
  pending_voids: ColumnType<string, never, never>;
  pending_refunds: ColumnType<string, never, never>;
  authorization_expires_at: ColumnType<Date | null, never, never>;
}

/**
 * One movement of an order's money (migration 007); append-only, its id the provider's idempotency key.
 * `payment_ledger` is the whole ledger, a view (migration 017): the movements after the charge, kept
 * in `payment_movements`, and the charge's authorization and capture as its payment records them.
 */
export interface PaymentLedgerTable {
  id: string;
  seq: Generated<string>;
  transaction_id: string;
  order_id: string;
  kind: string;
  amount: Bigint;
  currency: string;
  status: string;
  provider_reference: string | null;
  reason: string | null;
  actor: string;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  expiry_warned_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  context: Json<unknown> | null;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface OrderStatusHistoryTable {
  id: Generated<string>;
  order_id: string;
  status: string;
  actor: string;
  note: string | null;
  at: Timestamp;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  fingerprint: string;
  state: string;
  transaction_id: string | null;
  response_status: number | null;
  response_body: Json<unknown> | null;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface OutboxTable {
  id: string;
  kind: string;
  topic: string;
  payload: Json<unknown>;
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  delivered_at: Date | null;
  /** The trace context of the change that wrote the message (migration 013). */
  traceparent: ColumnType<string | null, string | null | undefined, never>;
  tracestate: ColumnType<string | null, string | null | undefined, never>;
}

export interface WebhookEventsTable {
  provider: string;
  event_id: string;
  type: string;
  received_at: Generated<Date>;
}

export interface ReturnsTable {
  id: string;
  order_id: string;
  status: string;
  refund_amount: Bigint;
  reason: string | null;
  note: string | null;
  restock: boolean | null;
  requested_by: string;
  decided_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ReturnItemsTable {
  return_id: string;
  position: number;
  product_id: string;
  quantity: number;
  unit_price: Bigint;
}

export interface Database {
  products: ProductsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  payment_transactions: PaymentTransactionsTable;
  /** Read only: a view. */
  payment_ledger: PaymentLedgerTable;
  payment_movements: PaymentLedgerTable;
  payment_totals: PaymentTotalsTable;
  /** The movements' sums only (their rows written by the ledger's triggers), without the charge's. */
  payment_movement_totals: PaymentTotalsTable;
  order_status_history: OrderStatusHistoryTable;
  idempotency_keys: IdempotencyKeysTable;
  outbox: OutboxTable;
  webhook_events: WebhookEventsTable;
  returns: ReturnsTable;
  return_items: ReturnItemsTable;
}

/** Every repository function takes this first: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

export type ProductRow = Selectable<ProductsTable>;
export type TransactionRow = Selectable<PaymentTransactionsTable>;
export type LedgerRow = Selectable<PaymentLedgerTable>;
export type OutboxRow = Selectable<OutboxTable>;
