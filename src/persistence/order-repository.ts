import { sql, type ExpressionBuilder, type RawBuilder } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { currentTotal, type Order, type OrderItem, type ShippingAddress, type Tracking } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';
import {
  derivePayment,
  type LedgerSums,
  type NextAction,
  type ProviderId,
  type TransactionStatus,
} from '../domain/payment.js';
import {
  chargeAuthorizationExpiresAt,
  chargeAuthorized,
  chargeCaptured,
  chargePendingAuthorization,
  chargePendingCapture,
} from './charge-sums.js';
import { compileByShape, compileOnce, slot } from './compiled.js';
import { toAmount, toIso } from './rows.js';
import type { Database, Db } from './tables.js';

/**
 * The sums over a payment's ledger its status and amounts are derived from (domain/payment.ts): the
 * `payment_ledger` view, so the charge from its payment row by key and the movements after it by one
 * index range of payment_ledger_transaction, a handful of rows per order.
 */
export const ledgerSums = (db: Db, transactionId: RawBuilder<unknown> | string) => {
  const id = typeof transactionId === 'string' ? sql.ref(transactionId) : transactionId;
  const total = (where: RawBuilder<unknown>) => sql<string>`coalesce(sum(l.amount) filter (where ${where}), 0)`;
  return db
    .selectFrom('payment_ledger as l')
    .where(sql<boolean>`l.transaction_id = ${id}`)
    .select([
      total(sql`l.kind = 'authorization' and l.status = 'succeeded'`).as('authorized'),
      total(sql`l.kind = 'capture' and l.status = 'succeeded'`).as('captured'),
      total(sql`l.kind = 'refund' and l.status = 'succeeded'`).as('refunded'),
      total(sql`l.kind = 'void' and l.status = 'succeeded'`).as('voided'),
      total(sql`l.kind = 'authorization' and l.status = 'pending'`).as('pending_authorizations'),
      total(sql`l.kind = 'capture' and l.status = 'pending'`).as('pending_captures'),
      total(sql`l.kind = 'void' and l.status = 'pending'`).as('pending_voids'),
      total(sql`l.kind = 'refund' and l.status = 'pending'`).as('pending_refunds'),
      sql<Date | null>`max(l.expires_at) filter (where l.kind = 'authorization' and l.status = 'succeeded')`.as(
        'authorization_expires_at',
      ),
    ]);
};

export type LedgerSumsRow = Awaited<ReturnType<ReturnType<typeof ledgerSums>['executeTakeFirstOrThrow']>>;

export const toLedgerSums = (r: LedgerSumsRow): LedgerSums => ({
  authorized: toAmount(r.authorized),
  captured: toAmount(r.captured),
  refunded: toAmount(r.refunded),
  voided: toAmount(r.voided),
  pendingAuthorizations: toAmount(r.pending_authorizations),
  pendingCaptures: toAmount(r.pending_captures),
  pendingVoids: toAmount(r.pending_voids),
  pendingRefunds: toAmount(r.pending_refunds),
  authorizationExpiresAt: r.authorization_expires_at === null ? null : toIso(r.authorization_expires_at),
});

/**
 * One query returns the whole order: its row, items (as JSON) and payment with its ledger's totals:
 * the narrow totals row the ledger's triggers keep for the movements after the charge (migration 011,
 * docs/adr/0016) plus the charge its payment row records (migration 017, docs/adr/0032).
 */
export function orderQuery(db: Db) {
  return (
    db
      .selectFrom('orders as o')
      .innerJoin('payment_transactions as t', 't.id', 'o.transaction_id')
      // A payment has a totals row from its first movement after the charge on: most have none.
      .leftJoin('payment_movement_totals as s', 's.transaction_id', 'o.transaction_id')
      .select([
        'o.id',
        'o.user_id',
        'o.status',
        'o.currency',
        'o.total',
        'o.email',
        'o.shipping_address',
        'o.tracking',
        'o.created_at',
        'o.updated_at',
        'o.transaction_id',
        't.provider',
        't.provider_reference',
        't.status as payment_status',
        't.amount as payment_amount',
        't.currency as payment_currency',
        sql<string>`coalesce(s.authorized, 0) + ${chargeAuthorized(sql`t`)}`.as('authorized'),
        sql<string>`coalesce(s.captured, 0) + ${chargeCaptured(sql`t`)}`.as('captured'),
        sql<string>`coalesce(s.refunded, 0)`.as('refunded'),
        sql<string>`coalesce(s.voided, 0)`.as('voided'),
        sql<string>`coalesce(s.pending_authorizations, 0) + ${chargePendingAuthorization(sql`t`)}`.as(
          'pending_authorizations',
        ),
        sql<string>`coalesce(s.pending_captures, 0) + ${chargePendingCapture(sql`t`)}`.as('pending_captures'),
        sql<string>`coalesce(s.pending_voids, 0)`.as('pending_voids'),
        sql<string>`coalesce(s.pending_refunds, 0)`.as('pending_refunds'),
        chargeAuthorizationExpiresAt(sql`t`).as('authorization_expires_at'),
        't.next_action',
      ])
      .select((eb: ExpressionBuilder<Database & { o: Database['orders'] }, 'o'>) =>
        jsonArrayFrom(
          eb
            .selectFrom('order_items as i')
            .select([
              'i.product_id',
              'i.name',
              'i.quantity',
              'i.unit_price',
              'i.line_total',
              'i.quantity_cancelled',
              'i.quantity_returned',
            ])
            .whereRef('i.order_id', '=', 'o.id')
            .orderBy('i.position'),
        ).as('items'),
      )
  );
}

type OrderQueryRow = Awaited<ReturnType<ReturnType<typeof orderQuery>['executeTakeFirstOrThrow']>>;

export function toOrder(r: OrderQueryRow): Order {
  const items = (r.items as unknown as OrderItem[]).map((i) => ({
    product_id: i.product_id,
    name: i.name,
    quantity: i.quantity,
    unit_price: toAmount(i.unit_price),
    line_total: toAmount(i.line_total),
    quantity_cancelled: i.quantity_cancelled,
    quantity_returned: i.quantity_returned,
  }));
  return {
    id: r.id,
    user_id: r.user_id,
    status: r.status as OrderStatus,
    currency: r.currency,
    items,
    total: toAmount(r.total),
    current_total: currentTotal(items),
    payment: {
      transaction_id: r.transaction_id,
      provider: r.provider as ProviderId,
      provider_reference: r.provider_reference,
      ...derivePayment(toLedgerSums(r), r.payment_status as TransactionStatus, r.next_action !== null),
      amount: toAmount(r.payment_amount),
      currency: r.payment_currency,
      next_action: (r.next_action as NextAction | null) ?? null,
    },
    email: r.email,
    shipping_address: (r.shipping_address as ShippingAddress | null) ?? null,
    tracking: (r.tracking as Tracking | null) ?? null,
    created_at: toIso(r.created_at),
    updated_at: toIso(r.updated_at),
  };
}

const byId = compileOnce((db) => orderQuery(db).where('o.id', '=', slot('id')));
const byIdForUpdate = compileOnce((db) =>
  orderQuery(db)
    .where('o.id', '=', slot('id'))
    .modifyEnd(sql`for update of o`),
);

export async function findOrder(db: Db, id: string): Promise<Order | undefined> {
  const row = (await byId(db, { id })).rows[0];
  return row && toOrder(row);
}

/**
 * The order with the sums of its payment's ledger it was derived from, and its charge's status: what
 * a use case that records a movement needs to say how the order will read once that movement is made.
 */
export async function findOrderAndLedger(
  db: Db,
  id: string,
): Promise<{ order: Order; sums: LedgerSums; charge: TransactionStatus } | undefined> {
  const row = (await byId(db, { id })).rows[0];
  return row && { order: toOrder(row), sums: toLedgerSums(row), charge: row.payment_status as TransactionStatus };
}

/** Reads the order and locks its row until the transaction ends (cancel, status changes). */
export async function lockOrder(trx: Db, id: string): Promise<Order | undefined> {
  const row = (await byIdForUpdate(trx, { id })).rows[0];
  return row && toOrder(row);
}

const rowLock = compileOnce((db) => db.selectFrom('orders').select('id').where('id', '=', slot('id')).forUpdate());

/**
 * Only locks the order's row until the transaction ends; read it after (`findOrder`), in a snapshot
 * taken once the lock was granted. Cheaper than `lockOrder` when the caller must read the order
 * afresh anyway: a locking read sees the locked row as it is now but its items and payment as they
 * were before it waited.
 */
export async function lockOrderRow(trx: Db, id: string): Promise<void> {
  await rowLock(trx, { id });
}

// Raw: Kysely keeps one locking clause per query, and the two rows take different locks.
const rowAndPaymentLock = compileOnce(
  () => sql`select o.id from orders o join payment_transactions p on p.id = o.transaction_id
    where o.id = ${slot('id')}::uuid for update of o for no key update of p`,
);

/**
 * `lockOrderRow`, and the lock of its payment's row, on which every writer of the payment's ledger
 * queues (migration 018): a read after it sees the ledger's sums as the last writer left them, and no
 * movement is written until this transaction ends.
 */
export async function lockOrderAndPayment(trx: Db, id: string): Promise<void> {
  await rowAndPaymentLock(trx, { id });
}

export interface OrderPosition {
  created_at: string;
  id: string;
}

/** Newest first, strictly after `after` in that order: a keyset page, as cheap deep as shallow. */
export async function listOrders(
  db: Db,
  userId: string,
  opts: { limit: number; after: OrderPosition | null; status?: OrderStatus },
): Promise<Order[]> {
  if (opts.limit > MAX_PAGE_ROWS) throw new RangeError(`a page holds at most ${MAX_PAGE_ROWS} rows`);
  const { rows } = await pageQuery(!!opts.status, !!opts.after)(db, {
    user_id: userId,
    status: opts.status,
    created_at: opts.after?.created_at,
    id: opts.after?.id,
    limit: opts.limit,
  });
  return rows.map(toOrder);
}

/** The most rows a page query returns: the largest page (100) and one more, to know a next page exists. */
export const MAX_PAGE_ROWS = 101;

/**
 * The four shapes of a page query (with or without a status filter and a cursor), each compiled once.
 * The page is cut twice: at MAX_PAGE_ROWS, a constant, inside, and at the requested size outside.
 * With only `limit $n` PostgreSQL cannot cost a generic plan (it assumes a tenth of the user's rows,
 * each with its items subquery), so it planned every page afresh; with the constant it keeps one
 * plan per connection — the same index scan, and the outer limit still stops it after n rows.
 * pgbench of the two forms: 5,000 against 8,700 pages a second 500k deep (ADR 0009, docs/performance.md).
 */
const pageQuery = (byStatus: boolean, after: boolean) => pageQueries(`${byStatus}:${after}`);
const pageQueries = compileByShape((db, shape) => {
  const [byStatus, after] = shape.split(':');
  let page = orderQuery(db).where('o.user_id', '=', slot('user_id'));
  if (byStatus === 'true') page = page.where('o.status', '=', slot('status'));
  if (after === 'true')
    page = page.where(sql<boolean>`(o.created_at, o.id) < (${slot('created_at')}::timestamptz, ${slot('id')}::uuid)`);
  const bounded = page.orderBy('o.created_at', 'desc').orderBy('o.id', 'desc').limit(sql.lit(MAX_PAGE_ROWS));
  return db
    .selectFrom(bounded.as('p'))
    .selectAll()
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .limit(slot('limit') as unknown as number);
});

export async function listHistory(db: Db, orderId: string) {
  const rows = await db
    .selectFrom('order_status_history')
    .select(['status', 'at', 'actor', 'note'])
    .where('order_id', '=', orderId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ status: r.status as OrderStatus, at: toIso(r.at), actor: r.actor, note: r.note }));
}

/** How many orders wait for their customer to complete the payment (a partial index holds exactly them). */
export async function countAwaitingPayment(db: Db): Promise<number> {
  const row = await db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '=', 'awaiting_payment')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
