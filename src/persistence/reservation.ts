import { sql } from 'kysely';
import { compileByShape, slot } from './compiled.js';
import { fromNow, idArray, qtyArray } from './sql-fragments.js';
import type { KeyClaim } from './idempotency-repository.js';
import type { Db } from './tables.js';
import type { NewTransaction } from './transaction-repository.js';

export type Reservation =
  | { reserved: true }
  /**
   * Nothing was written. `short`: the stocked products without enough units. With a key, the
   * claim is attempted only when stock suffices, so `reserved: false` with no short ids means
   * a live claim on the key already exists.
   */
  | { reserved: false; short: string[] };

/**
 * The first step of an order as one statement, so one round trip and its own transaction:
 * lock the stocked products in id order, claim the Idempotency-Key (when there is one), take
 * the stock and record the transaction as `processing` — with it its ledger's first movements, the
 * authorization and, in immediate mode, the capture, both `pending` (migration 017) — all of it, or
 * nothing.
 *
 * Racing orders over the same products queue on the row locks (taken in id order, so they
 * cannot deadlock); a racing request with the same key waits on the key's unique index until
 * this statement commits, then finds the key held. Data-modifying CTEs all run, whatever the
 * final SELECT reads, so each write is guarded by the same condition (`go`).
 */
export async function reserveOrder(
  db: Db,
  r: {
    stocked: readonly { product_id: string; quantity: number }[];
    key: KeyClaim | null;
    transaction: NewTransaction;
  },
): Promise<Reservation> {
  const t = r.transaction;
  const values: Record<string, unknown> = {
    transaction_id: t.id,
    order_id: t.draft.order_id,
    customer_id: t.draft.user_id,
    provider: t.provider,
    amount: t.draft.total,
    currency: t.draft.currency,
    source: t.source,
    draft: JSON.stringify(t.draft),
    reconcile_after_ms: Math.round(t.reconcileAfterMs),
    now: t.now,
    ...(r.key && {
      key_user: r.key.userId,
      key: r.key.key,
      fingerprint: r.key.fingerprint,
      key_expires: r.key.expiresAt,
    }),
  };
  r.stocked.forEach((item, i) => {
    values[`id${i}`] = item.product_id;
    values[`qty${i}`] = item.quantity;
  });
  const { rows } = await statement(`${r.stocked.length}:${r.key ? 'key' : 'nokey'}:${t.capture}`)(db, values);
  const row = rows[0];
  if (row?.go) return { reserved: true };
  return { reserved: false, short: row?.short ?? [] };
}

/** The statement for n stocked items, with or without a key claim, per capture mode: built and compiled once per shape. */
const statement = compileByShape<string, { go: boolean; short: string[] }>((_db, shape) => {
  const [count, withKey, capture] = shape.split(':');
  // The charge's own movements, before the charge, are the payment row: its amount is the
  // authorization and, in immediate mode, `charge_capture` the capture (migration 017).
  const captured =
    capture === 'immediate'
      ? sql`case when ${slot('amount')}::bigint > 0 then ${slot('amount')}::bigint end`
      : sql`null::bigint`;
  const n = Number(count);
  const slots = (name: string) => Array.from({ length: n }, (_, i) => slot(`${name}${i}`));
  const go = withKey === 'key' ? sql`exists (select 1 from claim)` : sql`not exists (select 1 from short)`;
  const claim =
    withKey === 'key'
      ? sql`, claim as (
          insert into idempotency_keys (user_id, key, fingerprint, state, transaction_id, expires_at)
          select ${slot('key_user')}::text, ${slot('key')}::text, ${slot('fingerprint')}::text, 'in_progress', ${slot('transaction_id')}::uuid, ${slot('key_expires')}::timestamptz
          where not exists (select 1 from short)
          on conflict (user_id, key) do update
            set fingerprint = excluded.fingerprint, state = 'in_progress', transaction_id = excluded.transaction_id,
                response_status = null, response_body = null, expires_at = excluded.expires_at, created_at = now()
            where idempotency_keys.expires_at < now() -- an expired key is free again
          returning 1
        )`
      : sql``;
  return sql<{ go: boolean; short: string[] }>`
    with wanted as (
      select * from unnest(${idArray(slots('id'))}, ${qtyArray(slots('qty'))}) as w(id, quantity)
    ), locked as materialized (
      select p.id, p.stock from products p join wanted w on w.id = p.id
      where p.stock is not null order by p.id for update of p
    ), short as materialized (
      select l.id from locked l join wanted w on w.id = l.id where l.stock < w.quantity
    )${claim}, taken as (
      -- From the locked value, not p.stock: p is the row as this statement's snapshot saw it, and
      -- when a restock committed while the lock was awaited, PostgreSQL checks products_stock_check
      -- on that stale row's new value before it re-reads the current one (EvalPlanQual). The lock is
      -- held to the commit, so the locked value is the current one and the guard below holds for it.
      update products p set stock = l.stock - w.quantity, updated_at = now()
      from wanted w, locked l
      where p.id = w.id and l.id = p.id and l.stock >= w.quantity and ${go}
    ), recorded as (
      insert into payment_transactions
        (id, order_id, customer_id, provider, status, amount, currency, charge_capture, source, order_draft, next_attempt_at, leased_until, created_at, updated_at)
      select ${slot('transaction_id')}::uuid, ${slot('order_id')}::uuid, ${slot('customer_id')}::text, ${slot('provider')}::text, 'processing',
             ${slot('amount')}::bigint, ${slot('currency')}::char(3), ${captured}, ${slot('source')}::text, ${slot('draft')}::jsonb,
             ${fromNow(slot('reconcile_after_ms'))}, ${fromNow(slot('reconcile_after_ms'))}, ${slot('now')}::timestamptz, ${slot('now')}::timestamptz
      where ${go}
    )
    select ${go} as go, array(select id from short order by id) as short`;
});
