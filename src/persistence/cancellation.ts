import { sql } from 'kysely';
import type { Order, StatusChange } from '../domain/order.js';
import type { OutboxMessage } from '../domain/messages.js';
import { stockReturn } from './product-repository.js';
import { fromNow } from './sql-fragments.js';
import type { Db, TransactionRow } from './tables.js';
import { toTransaction, type PaymentTransaction } from './transaction-repository.js';

export interface Cancellation {
  /** The order as it is once cancelled (its payment `refund_pending`). */
  order: Order;
  change: Pick<StatusChange, 'to' | 'at' | 'actor' | 'note'>;
  messages: readonly OutboxMessage[];
  /** How long the request has to refund before the reconciler takes over, from the database's clock. */
  retryInMs: number;
  now: Date;
}

/**
 * Everything a cancel writes, as one statement inside the caller's transaction (which already holds
 * the order's row lock): the payment moved from `succeeded` to `refund_pending`, the order's new
 * state, its history entry, the stock given back and the messages. Returns the payment transaction as
 * it was before the move (locked until the caller commits), or undefined if there is none.
 */
export async function recordCancellation(trx: Db, c: Cancellation): Promise<PaymentTransaction | undefined> {
  const o = c.order;
  const messages = sql.join(c.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::jsonb)`));
  const queued =
    c.messages.length > 0
      ? sql`, queued as (insert into outbox (id, kind, topic, payload) select * from (values ${messages}) as m(id, kind, topic, payload))`
      : sql``;
  const { rows } = await sql<TransactionRow>`
    with locked as materialized (
      select * from payment_transactions where id = ${o.payment.transaction_id}::uuid for update
    ), moved as (
      update payment_transactions p
      set status = 'refund_pending', next_attempt_at = ${fromNow(c.retryInMs)}, updated_at = ${c.now}::timestamptz
      from locked l where p.id = l.id and l.status = 'succeeded'
    ), saved as (
      update orders set status = ${o.status}::text, tracking = ${o.tracking ? JSON.stringify(o.tracking) : null}::jsonb, updated_at = ${o.updated_at}::timestamptz
      where id = ${o.id}::uuid
    ), history as (
      insert into order_status_history (order_id, status, actor, note, at)
      values (${o.id}::uuid, ${c.change.to}::text, ${c.change.actor}::text, ${c.change.note}::text, ${c.change.at}::timestamptz)
    ), released as (${stockReturn(o.items)})${queued}
    select * from locked`.execute(trx);
  const row = rows[0];
  return row && toTransaction(row);
}
