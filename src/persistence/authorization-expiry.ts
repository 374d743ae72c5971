import { sql } from 'kysely';
import type { Db } from './tables.js';

/**
 * Charges whose authorization still waits for its capture and lapses soon: succeeded, nothing
 * captured or voided after it (pending or not), the order still open. The payment row records the
 * charge's authorization and its expiry (migration 017).
 */
const expiring = (withinMs: number) => sql<boolean>`
  p.status = 'succeeded' and p.authorization_expires_at is not null and p.charge_capture is null
  and p.authorization_expires_at < now() + ${Math.round(withinMs)}::int * interval '1 millisecond'
  and not exists (
    select 1 from payment_movements c
    where c.transaction_id = p.id and c.kind in ('capture', 'void') and c.status in ('pending', 'succeeded'))
  and o.status in ('pending', 'processing')`;

/**
 * Warns each order whose authorization lapses within `withinMs` once, in its history (actor
 * `system`), marking the authorization warned in the same statement. Returns how many it warned.
 */
export async function warnExpiringAuthorizations(db: Db, withinMs: number, limit = 100): Promise<number> {
  const { rows } = await sql<{ order_id: string }>`
    with due as (
      select p.id, o.id as order_id, p.authorization_expires_at as expires_at, o.status from payment_transactions p
      join orders o on o.transaction_id = p.id
      where ${expiring(withinMs)} and p.authorization_expiry_warned_at is null
      order by p.authorization_expires_at
      limit ${limit}
      for update of p skip locked
    ), marked as (
      update payment_transactions set authorization_expiry_warned_at = now() where id in (select id from due)
    )
    insert into order_status_history (order_id, status, actor, note, at)
    select order_id, status, 'system',
           'payment authorization expires at ' || to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
           ': ship before then, or the capture will be declined', now()
    from due
    returning order_id`.execute(db);
  return rows.length;
}

/** How many open orders' authorizations lapse within `withinMs` (the `payment_authorizations_expiring` gauge). */
export async function countExpiringAuthorizations(db: Db, withinMs: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from payment_transactions p join orders o on o.transaction_id = p.id
    where ${expiring(withinMs)}`.execute(db);
  return rows[0]?.n ?? 0;
}
