import { errors } from './errors.js';
import { emailMessage, eventMessage, itemsCancelledEvent, newOrderMessages, type OutboxMessage } from './messages.js';
import { canTransition, type OrderStatus } from './order-status.js';
import type { CancelUnits } from './partial-cancel.js';
import {
  derivePayment,
  statusWhileReleased,
  type LedgerSums,
  type NextAction,
  type PaymentAmounts,
  type ProviderId,
  type TransactionStatus,
} from './payment.js';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  state?: string | null;
  postal_code: string;
  country: string;
}

export interface Tracking {
  carrier: string;
  number: string;
}

export interface OrderItem {
  product_id: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
  quantity_cancelled: number;
  quantity_returned: number;
}

/** The order's payment: its identity and, derived from its ledger, status and amounts. */
export interface PaymentSummary extends PaymentAmounts {
  transaction_id: string;
  provider: ProviderId;
  provider_reference: string | null;
  amount: number;
  currency: string;
  /** Null unless the payment waits for its customer (`requires_action`). */
  next_action: NextAction | null;
}

/** The order exactly as the API returns it (and as events carry it). */
export interface Order {
  id: string;
  user_id: string;
  status: OrderStatus;
  currency: string;
  items: OrderItem[];
  total: number;
  /** What the order still owes: its units not cancelled nor returned, at their prices. */
  current_total: number;
  payment: PaymentSummary;
  email: string | null;
  shipping_address: ShippingAddress | null;
  tracking: Tracking | null;
  created_at: string;
  updated_at: string;
}

export interface StatusChange {
  from: OrderStatus;
  to: OrderStatus;
  at: string;
  actor: string;
  note: string | null;
}

/** A line of an order's history as it is written: the status it records, who, when and why. */
export type HistoryLine = Omit<StatusChange, 'from'>;

/**
 * What a change records on its order, as the domain decides it: the lines of its history and the
 * messages it owes (docs/adr/0002). The use case writes them in the change's transaction, as given.
 */
export interface OrderRecord {
  history: HistoryLine[];
  messages: OutboxMessage[];
}

/** A move of the order's status: the order after it, its history line and the messages the move owes. */
export interface OrderMove {
  order: Order;
  change: StatusChange;
  messages: OutboxMessage[];
}

/**
 * Every transition goes through here: it checks the table, and returns the new order, the change
 * to record and what the move announces. An illegal move always throws.
 */
export function transition(
  order: Order,
  to: OrderStatus,
  actor: string,
  at: Date,
  note: string | null = null,
  tracking?: Tracking | null,
): OrderMove {
  if (!canTransition(order.status, to)) {
    throw to === 'cancelled' ? errors.notCancellable(order.status) : errors.invalidTransition(order.status, to);
  }
  const iso = at.toISOString();
  const moved: Order = {
    ...order,
    status: to,
    tracking: tracking === undefined ? order.tracking : tracking,
    updated_at: iso,
  };
  const next = to === 'cancelled' ? released(moved) : moved;
  return {
    order: next,
    change: { from: order.status, to, at: iso, actor, note },
    messages: announced(order.status, next, at, note),
  };
}

const SHIPPING_EMAILS = { shipped: 'order_shipped', delivered: 'order_delivered' } as const;

/** What each legal move of the table (order-status.ts) owes the outside world, in the order it is sent. */
function announced(from: OrderStatus, next: Order, at: Date, note: string | null): OutboxMessage[] {
  switch (next.status) {
    case 'pending':
      // Its payment completed: the order is placed, and owes what every new order owes.
      return newOrderMessages(next, at);
    case 'cancelled':
      // An order still waiting for its payment never had a confirmation: no email for its end.
      return [
        from === 'awaiting_payment' ? null : emailMessage('order_cancelled', next),
        eventMessage('order.cancelled', next, at, note ? { reason: note } : {}),
      ].filter((m) => m !== null);
    case 'processing':
    case 'shipped':
    case 'delivered':
      return [
        eventMessage('order.status_changed', next, at, { from, to: next.status }),
        next.status === 'processing' ? null : emailMessage(SHIPPING_EMAILS[next.status], next),
      ].filter((m) => m !== null);
    default:
      return [];
  }
}

/**
 * A cancelled order: every unit still kept is cancelled (units returned before stay returned), it
 * owes nothing more, and its payment reads as the money given back — the cancel records the
 * movement that gives it back (a refund of what was captured, else a void), made after the commit.
 */
function released(order: Order): Order {
  return {
    ...order,
    current_total: 0,
    items: order.items.map((i) => ({ ...i, quantity_cancelled: i.quantity - i.quantity_returned })),
    payment: { ...order.payment, status: statusWhileReleased(order.payment) },
  };
}

/**
 * The order as it reads once a refund of `amount` is made, `before` being its payment's ledger sums
 * when that refund was recorded (without it) and `charge` its charge's status: the refund leaves the
 * pending refunds as they were and adds to what was refunded; nothing else moves.
 */
export function refundMade(order: Order, before: LedgerSums, charge: TransactionStatus, amount: number): Order {
  const after = { ...before, refunded: before.refunded + amount };
  return {
    ...order,
    payment: { ...order.payment, ...derivePayment(after, charge, order.payment.next_action !== null) },
  };
}

/**
 * The whole order cancelled (a legal move, or it throws): the move, and the units that go back on the
 * shelf (units cancelled or returned before gave theirs already). `units`: the order ends because
 * its last units were cancelled by item; `order.items_cancelled` for them goes first.
 */
export function cancelWhole(
  order: Order,
  actor: string,
  at: Date,
  reason: string | null,
  units?: readonly CancelUnits[],
): OrderMove & { restock: CancelUnits[] } {
  const move = transition(order, 'cancelled', actor, at, reason);
  return {
    ...move,
    messages: units ? [itemsCancelledEvent(move.order, units, reason, at), ...move.messages] : move.messages,
    restock: order.items
      .map((i) => ({ product_id: i.product_id, quantity: unitsKept(i) }))
      .filter((u) => u.quantity > 0),
  };
}

/**
 * A new order as its customer made it: its first history line, and what it owes. A placed one
 * (`pending`) owes what every new order owes; one that waits for its payment owes nothing until the
 * payment completes and `transition` places it.
 */
export function created(order: Order, at: Date): { first: HistoryLine; messages: OutboxMessage[] } {
  return {
    first: { to: order.status, at: order.created_at, actor: order.user_id, note: null },
    messages: order.status === 'pending' ? newOrderMessages(order, at) : [],
  };
}

/** The units of a line the customer still keeps: neither cancelled nor returned. */
export const unitsKept = (line: Pick<OrderItem, 'quantity' | 'quantity_cancelled' | 'quantity_returned'>): number =>
  line.quantity - line.quantity_cancelled - line.quantity_returned;

/** Σ unit_price × units still kept. */
export function currentTotal(items: readonly OrderItem[]): number {
  return items.reduce((sum, i) => sum + i.unit_price * unitsKept(i), 0);
}

export function isOwnerOrAdmin(order: Pick<Order, 'user_id'>, user: { sub: string; isAdmin: boolean }): boolean {
  return user.isAdmin || order.user_id === user.sub;
}
