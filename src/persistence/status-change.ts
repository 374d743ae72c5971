import { sql } from 'kysely';
import type { OutboxMessage } from '../domain/messages.js';
import type { Order, StatusChange } from '../domain/order.js';
import { traceColumns } from './outbox.js';
import type { Db } from './tables.js';

export interface RecordedChange {
  /** The order as it is after the change. */
  order: Order;
  change: Pick<StatusChange, 'to' | 'at' | 'actor' | 'note'>;
  messages: readonly OutboxMessage[];
}

/**
 * A change of an order's state as one statement in the caller's transaction (which holds the order's
 * row lock): its new status and tracking, its history entry and the messages it owes. Cancellation
 * writes the same three with its own additions (cancellation.ts).
 */
export async function recordStatusChange(trx: Db, c: RecordedChange): Promise<void> {
  const o = c.order;
  const trace = traceColumns();
  const queued =
    c.messages.length > 0
      ? sql`, queued as (insert into outbox (id, kind, topic, payload, traceparent, tracestate) select *, ${trace.traceparent}::text, ${trace.tracestate}::text from (values ${sql.join(
          c.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::jsonb)`),
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
