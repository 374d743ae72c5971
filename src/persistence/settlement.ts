import { sql } from 'kysely';
import type { Order, StatusChange } from '../domain/order.js';
import type { OutboxMessage } from './outbox.js';
import type { Db } from './tables.js';

export interface NewOrderSettlement {
  reference: string;
  order: Order;
  first: Pick<StatusChange, 'to' | 'at' | 'actor' | 'note'>;
  messages: readonly OutboxMessage[];
  /** The Idempotency-Key whose stored answer becomes the order (201). */
  key: { userId: string; key: string } | null;
  now: Date;
}

/** The unique index that lets one provider payment settle at most one transaction (migration 002). */
const takenReference = (err: unknown) => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'payment_transactions_provider_ref';
};

/**
 * The usual end of a charge, as one statement (one round trip, its own transaction): move the
 * transaction from `processing` to `succeeded` with the provider's reference, and write the order,
 * its items, its first history entry, its messages and the key's stored answer — all guarded by
 * that move. Returns false, having written nothing, when the move does not apply: the transaction
 * is no longer `processing` (the reconciler settled it), was abandoned, or the provider's payment
 * already settles another transaction. The caller then takes the careful path, which locks the
 * row and tells those cases apart (settle-charge.ts).
 */
export async function settleNewOrder(db: Db, s: NewOrderSettlement): Promise<boolean> {
  const o = s.order;
  const t = o.payment;
  const items = sql.join(
    o.items.map(
      (i, position) =>
        sql`(${position}::int, ${i.product_id}::text, ${i.name}::text, ${i.quantity}::int, ${i.unit_price}::bigint, ${i.line_total}::bigint)`,
    ),
  );
  const messages = sql.join(s.messages.map((m) => sql`(${m.id}::uuid, ${m.kind}::text, ${m.topic}::text, ${m.payload}::jsonb)`));
  const key = s.key
    ? sql`, answered as (
        update idempotency_keys set state = 'completed', response_status = 201, response_body = ${JSON.stringify(o)}::jsonb
        where user_id = ${s.key.userId}::text and key = ${s.key.key}::text and exists (select 1 from moved)
      )`
    : sql``;
  const outbox =
    s.messages.length > 0
      ? sql`, queued as (
          insert into outbox (id, kind, topic, payload)
          select m.id, m.kind, m.topic, m.payload from moved, (values ${messages}) as m(id, kind, topic, payload)
        )`
      : sql``;
  try {
    const { rows } = await sql<{ settled: number }>`
      with moved as (
        update payment_transactions
        set status = 'succeeded', provider_reference = ${s.reference}::text, updated_at = ${s.now}::timestamptz
        where id = ${t.transaction_id}::uuid and status = 'processing' and not abandoned
          and not exists (
            select 1 from payment_transactions d
            where d.provider = ${t.provider}::text and d.provider_reference = ${s.reference}::text
          )
        returning id
      ), placed as (
        insert into orders (id, user_id, status, currency, total, email, shipping_address, tracking, transaction_id, created_at, updated_at)
        select ${o.id}::uuid, ${o.user_id}::text, ${o.status}::text, ${o.currency}::char(3), ${o.total}::bigint, ${o.email}::text,
               ${o.shipping_address ? JSON.stringify(o.shipping_address) : null}::jsonb, null, moved.id,
               ${o.created_at}::timestamptz, ${o.updated_at}::timestamptz
        from moved
      ), lines as (
        insert into order_items (order_id, position, product_id, name, quantity, unit_price, line_total)
        select ${o.id}::uuid, i.position, i.product_id, i.name, i.quantity, i.unit_price, i.line_total
        from moved, (values ${items}) as i(position, product_id, name, quantity, unit_price, line_total)
      ), history as (
        insert into order_status_history (order_id, status, actor, note, at)
        select ${o.id}::uuid, ${s.first.to}::text, ${s.first.actor}::text, ${s.first.note}::text, ${s.first.at}::timestamptz from moved
      )${outbox}${key}
      select count(*)::int as settled from moved`.execute(db);
    return (rows[0]?.settled ?? 0) > 0;
  } catch (err) {
    // Another transaction took this reference at the same moment (the unique index waited for it
    // to commit): nothing was written here, and the careful path finds and reports the holder.
    if (takenReference(err)) return false;
    throw err;
  }
}
