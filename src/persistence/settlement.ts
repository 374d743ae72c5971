import { sql, type RawBuilder } from 'kysely';
import type { HistoryLine, Order } from '../domain/order.js';
import { compileByShape, slot } from './compiled.js';
import { traceColumns } from './outbox.js';
import type { OutboxMessage } from '../domain/messages.js';
import type { NextAction } from '../domain/payment.js';
import type { Db } from './tables.js';

export interface NewOrderSettlement {
  reference: string;
  order: Order;
  /** Its first history line and the messages it owes (the domain's `created`). */
  first: HistoryLine;
  messages: readonly OutboxMessage[];
  /** The Idempotency-Key whose stored answer becomes the order (201). */
  key: { userId: string; key: string } | null;
  /** When the provider stops honouring an authorization the charge did not capture (shipment mode). */
  authorizationExpiresAt: Date | null;
  /**
   * The payment waits for its customer: the order is written `awaiting_payment`, the transaction
   * stays `processing` (its ledger rows `pending`) with what the customer must do, until when, and
   * when the reconciler first asks the provider.
   */
  awaiting?: { nextAction: NextAction; expiresAt: Date; askAt: Date };
  now: Date;
}

/** The unique indexes that lets one provider payment settle at most one transaction (migration 002). */
const takenReference = (err: unknown) => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'payment_transactions_provider_ref';
};

/**
 * The usual end of a charge, as one statement (one round trip, its own transaction): move the
 * transaction from `processing` to `succeeded` with the provider's reference (and with it the
 * ledger's authorization and capture, which the payment row records: migration 017), and write the
 * order,
 * its items, its first history entry, its messages and the key's stored answer — all guarded by
 * that move. Returns false, having written nothing, when the move does not apply: the transaction
 * is no longer `processing` (the reconciler settled it), was abandoned, or the provider's payment
 * already settles another transaction. The caller then takes the careful path, which locks the
 * row and tells those cases apart (settle-charge.ts).
 */
export async function settleNewOrder(db: Db, s: NewOrderSettlement): Promise<boolean> {
  const o = s.order;
  const values: Record<string, unknown> = {
    reference: s.reference,
    now: s.now,
    expires_at: s.authorizationExpiresAt,
    transaction_id: o.payment.transaction_id,
    provider: o.payment.provider,
    order_id: o.id,
    user_id: o.user_id,
    status: o.status,
    currency: o.currency,
    total: o.total,
    email: o.email,
    shipping_address: o.shipping_address ? JSON.stringify(o.shipping_address) : null,
    created_at: o.created_at,
    updated_at: o.updated_at,
    history_status: s.first.to,
    history_actor: s.first.actor,
    history_note: s.first.note,
    history_at: s.first.at,
    ...(s.key && { key_user: s.key.userId, key: s.key.key, answer: JSON.stringify(o) }),
    ...(s.awaiting && {
      next_action: JSON.stringify(s.awaiting.nextAction),
      action_expires_at: s.awaiting.expiresAt,
      ask_at: s.awaiting.askAt,
    }),
  };
  o.items.forEach((item, i) => {
    Object.assign(values, {
      [`product${i}`]: item.product_id,
      [`name${i}`]: item.name,
      [`quantity${i}`]: item.quantity,
      [`unit_price${i}`]: item.unit_price,
      [`line_total${i}`]: item.line_total,
    });
  });
  s.messages.forEach((m, i) => {
    Object.assign(values, {
      [`message${i}`]: m.id,
      [`kind${i}`]: m.kind,
      [`topic${i}`]: m.topic,
      [`payload${i}`]: m.payload,
    });
  });
  if (s.messages.length > 0) Object.assign(values, traceColumns());
  try {
    const { rows } = await statement(
      `${o.items.length}:${s.messages.length}:${s.key ? 'key' : 'nokey'}:${s.awaiting ? 'awaiting' : 'paid'}`,
    )(db, values);
    return (rows[0]?.settled ?? 0) > 0;
  } catch (err) {
    // Another transaction took this reference at the same moment (the unique index waited for it
    // to commit): nothing was written here, and the careful path finds and reports the holder.
    if (takenReference(err)) return false;
    throw err;
  }
}

/** The statement for a number of items and messages, with or without a key: compiled once per shape. */
const statement = compileByShape<string, { settled: number }>((_db, shape) => {
  const [items, messages, withKey, payment] = shape.split(':');
  const awaiting = payment === 'awaiting';
  const each = (count: string | undefined, row: (i: number) => RawBuilder<unknown>) =>
    sql.join(Array.from({ length: Number(count) }, (_, i) => row(i)));
  const lines = each(
    items,
    (i) =>
      sql`(${i}::int, ${slot(`product${i}`)}::text, ${slot(`name${i}`)}::text, ${slot(`quantity${i}`)}::int, ${slot(`unit_price${i}`)}::bigint, ${slot(`line_total${i}`)}::bigint)`,
  );
  const outbox =
    Number(messages) > 0
      ? sql`, queued as (
          insert into outbox (id, kind, topic, payload, traceparent, tracestate)
          select m.id, m.kind, m.topic, m.payload, ${slot('traceparent')}::text, ${slot('tracestate')}::text
          from moved, (values ${each(messages, (i) => sql`(${slot(`message${i}`)}::uuid, ${slot(`kind${i}`)}::text, ${slot(`topic${i}`)}::text, ${slot(`payload${i}`)}::json)`)}) as m(id, kind, topic, payload)
        )`
      : sql``;
  const key =
    withKey === 'key'
      ? sql`, answered as (
          update idempotency_keys set state = 'completed', response_status = 201, response_body = ${slot('answer')}::jsonb
          where user_id = ${slot('key_user')}::text and key = ${slot('key')}::text and exists (select 1 from moved)
        )`
      : sql``;
  // A payment that waits for its customer moves nothing yet: the charge stays `processing` (its
  // authorization and capture `pending`), and the reconciler first asks at `ask_at`, when no lease holds it.
  const move = awaiting
    ? sql`next_action = ${slot('next_action')}::jsonb, action_expires_at = ${slot('action_expires_at')}::timestamptz,
          next_attempt_at = ${slot('ask_at')}::timestamptz, leased_until = now()`
    : sql`status = 'succeeded', authorization_expires_at = ${slot('expires_at')}::timestamptz`;
  return sql<{ settled: number }>`
    with moved as (
      update payment_transactions
      set ${move}, provider_reference = ${slot('reference')}::text, updated_at = ${slot('now')}::timestamptz
      -- "is true": the same test, but one the partial index of unsettled payments cannot answer, so the
      -- kept generic plan finds the row by its primary key. With plain \`status = 'processing'\`, a plan
      -- made while few payments were processing scanned that index — every payment waiting for its
      -- customer — on every settlement (12.8 ms of PostgreSQL per create with 27,000 waiting).
      where id = ${slot('transaction_id')}::uuid and (status = 'processing') is true and not abandoned and next_action is null
        and not exists (
          select 1 from payment_transactions d
          where d.provider = ${slot('provider')}::text and d.provider_reference = ${slot('reference')}::text
        )
      returning id
    ), placed as (
      insert into orders (id, user_id, status, currency, total, email, shipping_address, tracking, transaction_id, created_at, updated_at)
      select ${slot('order_id')}::uuid, ${slot('user_id')}::text, ${slot('status')}::text, ${slot('currency')}::char(3), ${slot('total')}::bigint,
             ${slot('email')}::text, ${slot('shipping_address')}::jsonb, null, moved.id, ${slot('created_at')}::timestamptz, ${slot('updated_at')}::timestamptz
      from moved
    ), lines as (
      insert into order_items (order_id, position, product_id, name, quantity, unit_price, line_total)
      select ${slot('order_id')}::uuid, i.position, i.product_id, i.name, i.quantity, i.unit_price, i.line_total
      from moved, (values ${lines}) as i(position, product_id, name, quantity, unit_price, line_total)
    ), history as (
      insert into order_status_history (order_id, status, actor, note, at)
      select ${slot('order_id')}::uuid, ${slot('history_status')}::text, ${slot('history_actor')}::text, ${slot('history_note')}::text, ${slot('history_at')}::timestamptz
      from moved
    )${outbox}${key}
    select count(*)::int as settled from moved`;
});
