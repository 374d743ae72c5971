import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { PricedReturnItem, Return, ReturnableLine, ReturnItem, ReturnStatus } from '../domain/returns.js';
import { stockReturn } from './product-repository.js';
import { toAmount, toIso } from './rows.js';
import { idArray, qtyArray } from './sql-fragments.js';
import type { Db } from './tables.js';

function returnQuery(db: Db) {
  return db
    .selectFrom('returns as r')
    .select(['r.id', 'r.order_id', 'r.status', 'r.refund_amount', 'r.reason', 'r.note', 'r.created_at', 'r.updated_at'])
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('return_items as i')
          .select(['i.product_id', 'i.quantity'])
          .whereRef('i.return_id', '=', 'r.id')
          .orderBy('i.position'),
      ).as('items'),
    );
}

type ReturnQueryRow = Awaited<ReturnType<ReturnType<typeof returnQuery>['executeTakeFirstOrThrow']>>;

const toReturn = (r: ReturnQueryRow): Return => ({
  id: r.id,
  order_id: r.order_id,
  status: r.status as ReturnStatus,
  items: (r.items as ReturnItem[]).map((i) => ({ product_id: i.product_id, quantity: i.quantity })),
  refund_amount: toAmount(r.refund_amount),
  reason: r.reason,
  note: r.note,
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

/** An order's returns, oldest first. */
export async function listReturns(db: Db, orderId: string): Promise<Return[]> {
  const rows = await returnQuery(db)
    .where('r.order_id', '=', orderId)
    .orderBy('r.created_at')
    .orderBy('r.id')
    .execute();
  return rows.map(toReturn);
}

/** One return of one order, its row locked until the transaction ends. */
export async function lockReturn(trx: Db, orderId: string, returnId: string): Promise<Return | undefined> {
  const row = await returnQuery(trx)
    .where('r.id', '=', returnId)
    .where('r.order_id', '=', orderId)
    .modifyEnd(sql`for update of r`)
    .executeTakeFirst();
  return row && toReturn(row);
}

/** The latest move to `delivered` in the order's history: where the return window starts. */
export async function deliveredAt(db: Db, orderId: string): Promise<Date | undefined> {
  const row = await db
    .selectFrom('order_status_history')
    .select('at')
    .where('order_id', '=', orderId)
    .where('status', '=', 'delivered')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && new Date(row.at);
}

/**
 * Per product of the order: its price, the units delivered and those already in returns that are
 * not rejected. Read under the order's row lock, so no other return can change it meanwhile.
 */
export async function returnableLines(trx: Db, orderId: string): Promise<ReturnableLine[]> {
  const rows = await trx
    .selectFrom('order_items as oi')
    .select(['oi.product_id', 'oi.unit_price'])
    .select(sql<number>`oi.quantity - oi.quantity_cancelled`.as('delivered'))
    .select((eb) =>
      eb
        .selectFrom('return_items as ri')
        .innerJoin('returns as r', 'r.id', 'ri.return_id')
        .select(sql<string>`coalesce(sum(ri.quantity), 0)`.as('n'))
        .whereRef('r.order_id', '=', 'oi.order_id')
        .whereRef('ri.product_id', '=', 'oi.product_id')
        .where('r.status', '<>', 'rejected')
        .as('in_returns'),
    )
    .where('oi.order_id', '=', orderId)
    .orderBy('oi.position')
    .execute();
  return rows.map((r) => ({
    product_id: r.product_id,
    unit_price: toAmount(r.unit_price),
    delivered: Number(r.delivered),
    inReturns: Number(r.in_returns ?? 0),
  }));
}

export async function insertReturn(
  trx: Db,
  r: Return,
  items: readonly PricedReturnItem[],
  requestedBy: string,
): Promise<void> {
  await trx
    .with('r', (db) =>
      db.insertInto('returns').values({
        id: r.id,
        order_id: r.order_id,
        status: r.status,
        refund_amount: r.refund_amount,
        reason: r.reason,
        note: r.note,
        restock: null,
        requested_by: requestedBy,
        decided_by: null,
        created_at: r.created_at,
        updated_at: r.updated_at,
      }),
    )
    .insertInto('return_items')
    .values(
      items.map((i, position) => ({
        return_id: r.id,
        position,
        product_id: i.product_id,
        quantity: i.quantity,
        unit_price: i.unit_price,
      })),
    )
    .execute();
}

/** A return's new status, note and who decided it. */
export async function saveReturnDecision(
  trx: Db,
  r: Return,
  decidedBy: string,
  restock: boolean | null,
): Promise<void> {
  await trx
    .updateTable('returns')
    .set({ status: r.status, note: r.note, decided_by: decidedBy, restock, updated_at: r.updated_at })
    .where('id', '=', r.id)
    .execute();
}

/** The received units count as returned on the order, and (when restocked) go back on the shelf. */
export async function recordReturnedUnits(
  trx: Db,
  orderId: string,
  items: readonly ReturnItem[],
  restock: boolean,
): Promise<void> {
  if (items.length === 0) return;
  await sql`
    update order_items oi set quantity_returned = oi.quantity_returned + w.quantity
    from unnest(${idArray(items.map((i) => i.product_id))}, ${qtyArray(items.map((i) => i.quantity))}) as w(id, quantity)
    where oi.order_id = ${orderId}::uuid and oi.product_id = w.id`.execute(trx);
  if (restock) await stockReturn(items).execute(trx);
}
