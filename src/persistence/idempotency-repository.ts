import { sql } from 'kysely';
import type { Db } from './tables.js';

/** A request's claim on its Idempotency-Key: whose key, the body's fingerprint, and how long the answer is kept. */
export interface KeyClaim {
  userId: string;
  key: string;
  fingerprint: string;
  expiresAt: Date;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** What a live key says to a request that carries it (the claim itself is in reservation.ts). */
export type HeldKey =
  | { state: 'in_progress' }
  /** The key was used with another request body. */
  | { state: 'mismatch' }
  | { state: 'completed'; response: StoredResponse };

/** The unexpired key (user, key) as seen by a request with this body's fingerprint; undefined when free. */
export async function inspectKey(
  db: Db,
  userId: string,
  key: string,
  fingerprint: string,
): Promise<HeldKey | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'state', 'response_status', 'response_body'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .where('expires_at', '>=', sql<Date>`now()`)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
  if (row.state === 'completed' && row.response_status !== null) {
    return { state: 'completed', response: { status: row.response_status, body: row.response_body } };
  }
  return { state: 'in_progress' };
}

/**
 * Claims a free (or expired) key inside the caller's transaction, so the claim and the work it guards
 * commit or vanish together. A racing claim of the same key waits on the key's unique index until
 * this transaction ends, then finds it held. False when the key is held.
 */
export async function claimKey(trx: Db, k: KeyClaim): Promise<boolean> {
  const { rows } = await sql`
    insert into idempotency_keys (user_id, key, fingerprint, state, expires_at)
    values (${k.userId}::text, ${k.key}::text, ${k.fingerprint}::text, 'in_progress', ${k.expiresAt}::timestamptz)
    on conflict (user_id, key) do update
      set fingerprint = excluded.fingerprint, state = 'in_progress', transaction_id = null,
          response_status = null, response_body = null, expires_at = excluded.expires_at, created_at = now()
      where idempotency_keys.expires_at < now() -- an expired key is free again
    returning 1`.execute(trx);
  return rows.length > 0;
}

export async function completeKey(trx: Db, userId: string, key: string, response: StoredResponse): Promise<void> {
  await trx
    .updateTable('idempotency_keys')
    .set({ state: 'completed', response_status: response.status, response_body: JSON.stringify(response.body) })
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .execute();
}

/** Frees a key whose request ended without an outcome worth replaying (e.g. a provider outage). */
export async function releaseKey(db: Db, userId: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .where('state', '=', 'in_progress')
    .execute();
}

export async function deleteExpiredKeys(db: Db): Promise<number> {
  const r = await db
    .deleteFrom('idempotency_keys')
    .where('expires_at', '<', sql<Date>`now()`)
    .where('state', '=', 'completed')
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
