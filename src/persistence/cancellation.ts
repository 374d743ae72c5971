import { sql } from 'kysely';
import type { OrderMove } from '../domain/order.js';
import { chargeAuthorized, chargeCaptured, chargePendingCapture } from './charge-sums.js';
import { paymentReference, toMovement, type Movement, type MovementRow } from './ledger.js';
import { traceColumns } from './outbox.js';
import { stockReturn } from './product-repository.js';
import { fromNow } from './sql-fragments.js';
import type { Db } from './tables.js';

/** The cancel as the domain returned it (`cancelWhole`: the order once cancelled, its history line and messages). */
export interface Cancellation extends OrderMove {
  /** The units that go back in stock: those not cancelled nor returned before. */
  restock: readonly { product_id: string; quantity: number }[];
  /** The id of the movement that gives the money back: the provider's idempotency key for it. */
  movementId: string;
  /** How long the request has to make it before the reconciler takes over, from the database's clock. */
  retryInMs: number;
  now: Date;
}

/**
 * Everything a cancel writes, as one statement inside the caller's transaction (which already holds
 * the order's and its payment's row locks: `lockOrderAndPayment`): the movement that gives the money
 * back — a refund of what was captured and not yet refunded, or else a void of what is still
 * authorized — recorded `pending` in the ledger, the order's new state (every unit not returned
 * counted cancelled), its history entry, the stock given back and the messages. Returns that
 * movement, or undefined when there was nothing to give back (a zero total).
 */
export async function recordCancellation(trx: Db, c: Cancellation): Promise<Movement | undefined> {
  const o = c.order;
  const messages = sql.join(
    c.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::json)`),
  );
  const trace = traceColumns();
  const queued =
    c.messages.length > 0
      ? sql`, queued as (insert into outbox (id, kind, topic, payload, traceparent, tracestate) select *, ${trace.traceparent}::text, ${trace.tracestate}::text from (values ${messages}) as m(id, kind, topic, payload))`
      : sql``;
  const { rows } = await sql<MovementRow>`
    with sums as materialized (
      select p.id, p.order_id, p.currency, p.provider, p.provider_reference,
             coalesce(s.authorized, 0) + ${chargeAuthorized(sql`p`)} as authorized,
             coalesce(s.captured, 0) + ${chargeCaptured(sql`p`)} as captured,
             coalesce(s.refunded, 0) as refunded, coalesce(s.voided, 0) as voided,
             coalesce(s.pending_captures, 0) + ${chargePendingCapture(sql`p`)} as pending_captures,
             coalesce(s.pending_voids, 0) as pending_voids, coalesce(s.pending_refunds, 0) as pending_refunds
      from payment_transactions p left join payment_movement_totals s on s.transaction_id = p.id
      where p.id = ${o.payment.transaction_id}::uuid
    ), owed as (
      -- The sums are the ledger's as last committed: the caller holds the payment's lock, on which
      -- every writer of its movements queues (migration 018), and this statement's snapshot was
      -- taken after it was granted.
      select l.id as transaction_id, l.order_id, l.currency,
             case when l.captured > 0 then 'refund' else 'void' end as kind,
             case when l.captured > 0 then l.captured - l.refunded - l.pending_refunds
                  else l.authorized - l.voided - l.pending_voids - l.captured - l.pending_captures end as amount
      from sums l
    ), released_money as (
      insert into payment_movements (id, transaction_id, order_id, kind, amount, currency, status, reason, actor, next_attempt_at, created_at, updated_at)
      select ${c.movementId}::uuid, transaction_id, order_id, kind, amount, currency, 'pending', ${c.change.note}::text, ${c.change.actor}::text,
             ${fromNow(c.retryInMs)}, ${c.now}::timestamptz, ${c.now}::timestamptz
      from owed where amount > 0
      returning *
    ), saved as (
      update orders set status = ${o.status}::text, tracking = ${o.tracking ? JSON.stringify(o.tracking) : null}::jsonb, updated_at = ${o.updated_at}::timestamptz
      where id = ${o.id}::uuid
    ), units as (
      update order_items set quantity_cancelled = quantity - quantity_returned where order_id = ${o.id}::uuid
    ), history as (
      insert into order_status_history (order_id, status, actor, note, at)
      values (${o.id}::uuid, ${c.change.to}::text, ${c.change.actor}::text, ${c.change.note}::text, ${c.change.at}::timestamptz)
    ), released as (${stockReturn(c.restock)})${queued}
    select r.*, l.provider, coalesce(${paymentReference(sql`r`)}, l.provider_reference) as payment_reference
    from released_money r, sums l`.execute(trx);
  const row = rows[0];
  return row && toMovement(row);
}
