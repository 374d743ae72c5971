import { sql } from 'kysely';
import type { Db } from './tables.js';

/**
 * Authorizations still waiting for their capture whose expiry is near: succeeded, nothing captured
 * or voided (pending or not), the order still open.
 */
const expiring = (withinMs: number) => sql<boolean>`
  l.kind = 'authorization' and l.status = 'succeeded' and l.expires_at is not null
  and l.expires_at < now() + ${Math.round(withinMs)}::int * interval '1 millisecond'
  and not exists (
    select 1 from payment_ledger c
    where c.transaction_id = l.transaction_id and c.kind in ('capture', 'void') and c.status in ('pending', 'succeeded'))
  and o.status in ('pending', 'processing')`;

/**
 * Warns each order whose authorization lapses within `withinMs` once, in its history (actor
 * `system`), marking the authorization warned in the same statement. Returns how many it warned.
 */
export async function warnExpiringAuthorizations(db: Db, withinMs: number, limit = 100): Promise<number> {
  const { rows } = await sql<{ order_id: string }>`
    with due as (
      select l.id, l.order_id, l.expires_at, o.status from payment_ledger l
      join orders o on o.transaction_id = l.transaction_id
      where ${expiring(withinMs)} and l.expiry_warned_at is null
      order by l.expires_at
      limit ${limit}
      for update of l skip locked
    ), marked as (
      update payment_ledger set expiry_warned_at = now() where id in (select id from due)
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
    select count(*)::int as n from payment_ledger l join orders o on o.transaction_id = l.transaction_id
    where ${expiring(withinMs)}`.execute(db);
  return rows[0]?.n ?? 0;
}
