import { sql } from 'kysely';
import type { OutboxStatus } from '../domain/messages.js';
import type { Db, OutboxRow } from './tables.js';

/** A listed row with its `created_at` at full microsecond precision, as the page cursor carries it. */
export type ListedOutboxRow = OutboxRow & { cursor_ts: string };

/**
 * Newest first, keyset on (created_at, id), `limit` rows. The timestamp is read
 * as text at full microsecond precision: a JS Date would round it to the
 * millisecond and a cursor built from it would skip rows created within the
 * same millisecond.
 */
export async function listOutboxRows(
  db: Db,
  q: { status?: OutboxStatus; limit: number; after: { ts: string; id: string } | null },
): Promise<ListedOutboxRow[]> {
  let query = db
    .selectFrom('outbox')
    .selectAll()
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_ts'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.after) query = query.where(sql<boolean>`(created_at, id) < (${q.after.ts}::timestamptz, ${q.after.id}::uuid)`);
  return (await query.execute()) as ListedOutboxRow[];
}

/** A dead message back to pending with a fresh attempt budget, due now; undefined when `id` is not dead. */
export async function reviveDeadMessage(db: Db, id: string): Promise<OutboxRow | undefined> {
  return db
    .updateTable('outbox')
    .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .returningAll()
    .executeTakeFirst();
}

export async function findOutboxMessage(db: Db, id: string): Promise<OutboxRow | undefined> {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
}
