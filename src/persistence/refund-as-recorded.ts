import { sql } from 'kysely';
import type { OutboxMessage } from '../domain/messages.js';
import { traceColumns } from './outbox.js';
import type { Db } from './tables.js';

export interface RefundAsRecorded {
  movementId: string;
  /** The provider's id of the refund, set where none was. */
  providerReference: string | null;
  /** What the refund owes, built from the order as it reads once the refund is made. */
  messages: readonly OutboxMessage[];
  now: Date;
}

/**
 * A `pending` refund made at the provider, moved to `succeeded` with the messages it owes — in one
 * statement, and only if its order and its payment's ledger sums are still as the transaction that
 * recorded the refund left them (their rows' xmin is the refund row's). Then the order the caller built
 * from what that transaction read is the order as it reads now, and need not be read again. False
 * (nothing written) when anything moved since, or the refund is no longer pending: the caller reads.
 *
 * The caller holds the order's and the payment's locks (`lockOrderAndPayment`), taken before this
 * statement's snapshot: a movement committed while they were awaited is seen, and fails the check.
 */
export async function settleRefundAsRecorded(trx: Db, r: RefundAsRecorded): Promise<boolean> {
  if (r.messages.length === 0) throw new Error('a refund made owes its messages');
  const trace = traceColumns();
  const messages = sql.join(
    r.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::json)`),
  );
  const { rows } = await sql<{ settled: number }>`
    with moved as (
      update payment_movements m
      set status = 'succeeded', updated_at = ${r.now}::timestamptz, last_error = null,
          provider_reference = coalesce(m.provider_reference, ${r.providerReference}::text)
      where m.id = ${r.movementId}::uuid and m.kind = 'refund' and m.status = 'pending'
        and m.xmin = (select o.xmin from orders o where o.id = m.order_id)
        and m.xmin = (select t.xmin from payment_movement_totals t where t.transaction_id = m.transaction_id)
      returning m.id
    ), queued as (
      insert into outbox (id, kind, topic, payload, traceparent, tracestate)
      select q.id, q.kind, q.topic, q.payload, ${trace.traceparent}::text, ${trace.tracestate}::text
      from moved, (values ${messages}) as q(id, kind, topic, payload)
    )
    select count(*)::int as settled from moved`.execute(trx);
  return rows[0]!.settled > 0;
}
