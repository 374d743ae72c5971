import { sql } from 'kysely';
import type { Db } from './tables.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type KeyClaim =
  | { state: 'claimed' }
  | { state: 'in_progress' }
  | { state: 'mismatch' }
  | { state: 'completed'; response: StoredResponse };

/**
 * Claims (user, key) for this request inside the caller's transaction. A racing
 * request with the same key waits on the unique index until the first commits,
 * then sees its row: in progress, completed, or a different body.
 */
export async function claimKey(trx: Db, userId: string, key: string, fingerprint: string, expiresAt: Date): Promise<KeyClaim> {
  const inserted = await trx
    .insertInto('idempotency_keys')
    .values({ user_id: userId, key, fingerprint, state: 'in_progress', transaction_id: null, response_status: null, response_body: null, expires_at: expiresAt })
    .onConflict((oc) =>
      // An expired key is free again: take it over.
      oc.columns(['user_id', 'key']).doUpdateSet({ fingerprint, state: 'in_progress', response_status: null, response_body: null, expires_at: expiresAt, created_at: sql`now()` } as never)
        .where('idempotency_keys.expires_at', '<', sql<Date>`now()`),
    )
    .returning('state')
    .executeTakeFirst();
  if (inserted) return { state: 'claimed' };

  const row = await trx
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'state', 'response_status', 'response_body'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
  if (row.state === 'completed' && row.response_status !== null) {
    return { state: 'completed', response: { status: row.response_status, body: row.response_body } };
  }
  return { state: 'in_progress' };
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
  await db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).where('state', '=', 'in_progress').execute();
}

export async function deleteExpiredKeys(db: Db): Promise<number> {
  const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<', sql<Date>`now()`).where('state', '=', 'completed').executeTakeFirst();
  return Number(r.numDeletedRows);
}
