import { sql } from 'kysely';
import type { OutboxMessage } from '../domain/messages.js';
import type { HistoryLine, Order, OrderRecord } from '../domain/order.js';
import { enqueueAll, traceColumns } from './outbox.js';
import type { Db } from './tables.js';

/**
 * A move of an order's status, as the domain returned it (`transition`), in one statement in the
 * caller's transaction (which holds the order's row lock): its new status and tracking, its history
 * entry and the messages it owes. Cancellation writes the same three with its own additions
 * (cancellation.ts).
 */
export async function recordStatusChange(
  trx: Db,
  c: { order: Order; change: HistoryLine; messages: readonly OutboxMessage[] },
): Promise<void> {
  const o = c.order;
  const trace = traceColumns();
  const queued =
    c.messages.length > 0
      ? sql`, queued as (insert into outbox (id, kind, topic, payload, traceparent, tracestate) select *, ${trace.traceparent}::text, ${trace.tracestate}::text from (values ${sql.join(
          c.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::json)`),
        )}) as m(id, kind, topic, payload))`
      : sql``;
  await sql`
    with saved as (
      update orders set status = ${o.status}::text, tracking = ${o.tracking ? JSON.stringify(o.tracking) : null}::jsonb, updated_at = ${o.updated_at}::timestamptz
      where id = ${o.id}::uuid
    )${queued}
    insert into order_status_history (order_id, status, actor, note, at)
    values (${o.id}::uuid, ${c.change.to}::text, ${c.change.actor}::text, ${c.change.note}::text, ${c.change.at}::timestamptz)`.execute(
    trx,
  );
}

/**
 * What a change that moves no status records on its order, as the domain returned it
 * (domain/order-records.ts): its history lines and the messages it owes, in the caller's transaction.
 */
export async function recordOnOrder(trx: Db, orderId: string, r: OrderRecord): Promise<void> {
  if (r.history.length > 0)
    await trx
      .insertInto('order_status_history')
      .values(r.history.map((h) => ({ order_id: orderId, status: h.to, actor: h.actor, note: h.note, at: h.at })))
      .execute();
  await enqueueAll(trx, r.messages);
}
