import { sql, type Kysely } from 'kysely';
import { fromNow } from './sql-fragments.js';
import type { Database } from './tables.js';

/** The outbox's queue, as the relay (workers/outbox-relay.ts) and housekeeping work it. */
export type OutboxKind = 'email' | 'event';

/** A row this relay holds a lease on. `attempts` (already counting this one) is the lease's fencing token. */
export interface ClaimedRow {
  id: string;
  kind: OutboxKind;
  topic: string;
  payload: unknown;
  attempts: number;
  created_at: Date;
  /** The trace context of the change that wrote it (migration 013); null outside a trace. */
  traceparent: string | null;
  tracestate: string | null;
}

/**
 * Claims up to `limit` due rows of the given kinds and leases them for
 * `leaseMs`: one statement, so one short transaction. SKIP LOCKED lets
 * concurrent relays pass each other's rows instead of waiting on them; moving
 * next_attempt_at past now() is the lease, so once this commits no other relay
 * sees the rows as due until the lease runs out (a relay that died mid-batch).
 * The delivery itself happens after the commit, outside any transaction.
 * Counting the attempt here means a message that crashes the relay every time
 * still reaches the dead state instead of looping forever.
 */
export async function claimDue(
  db: Kysely<Database>,
  kinds: readonly OutboxKind[],
  limit: number,
  leaseMs: number,
): Promise<ClaimedRow[]> {
  if (kinds.length === 0) return [];
  const { rows } = await sql<ClaimedRow>`
    with due as materialized (
      select id from outbox
      where status = 'pending' and next_attempt_at <= now() and kind in (${sql.join(kinds)})
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    update outbox o
       set attempts = o.attempts + 1,
           next_attempt_at = ${fromNow(leaseMs)}
      from due
     where o.id = due.id
    returning o.id, o.kind, o.topic, o.payload, o.attempts, o.created_at, o.traceparent, o.tracestate`.execute(db);
  // Oldest first: across a batch delivered together this is the best order we can offer.
  return rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
}

/**
 * Both marks are fenced on (status pending, attempts = the claimed value): if
 * this relay lost its lease (it outlived it, or an admin reset the row), the
 * mark changes nothing instead of overwriting someone else's newer state.
 * They return whether the row was updated.
 */
export async function markDelivered(db: Kysely<Database>, row: Pick<ClaimedRow, 'id' | 'attempts'>): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({ status: 'delivered', delivered_at: sql<Date>`now()` })
    .where('id', '=', row.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', row.attempts)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export async function markFailed(
  db: Kysely<Database>,
  row: Pick<ClaimedRow, 'id' | 'attempts'>,
  error: string,
  outcome: { dead: boolean; retryInMs: number },
): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({
      status: outcome.dead ? 'dead' : 'pending',
      last_error: error.slice(0, 2000),
      next_attempt_at: fromNow(outcome.retryInMs),
    })
    .where('id', '=', row.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', row.attempts)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Rows deleted per statement by `deleteDeliveredBefore`: short statements, short row locks. */
const RETENTION_BATCH_SIZE = 5000;

/**
 * Deletes `delivered` rows whose delivery is more than `retentionHours` old, at
 * most `batchSize` per statement, statement after statement until one deletes
 * fewer: a backlog never becomes one long transaction holding locks on
 * millions of rows (and on PGlite, whose one connection the API shares, other
 * statements get in between batches).
 *
 * Only `delivered` rows go. `dead` rows are kept whatever their age: they are
 * messages that never reached their receiver, operators list them and retry
 * them through the admin outbox routes, so deleting them would lose them
 * silently. `pending` rows are still owed.
 *
 * `status = 'delivered'` is written as a literal, not a parameter, so that
 * even a generic plan of the prepared statement can use the partial index
 * outbox_delivered_at (migration 004). SKIP LOCKED: when every instance runs
 * housekeeping at once, they share the backlog instead of queueing on each
 * other's rows. `id = any(array(…))` rather than `id in (…)`: with `in`,
 * PostgreSQL joined the batch's ids against a sequential scan of the whole
 * table (every batch read every row); the array is looked up in the primary
 * key. `shouldContinue` is asked between batches (false on shutdown).
 */
export async function deleteDeliveredBefore(
  db: Kysely<Database>,
  retentionHours: number,
  opts: { batchSize?: number; shouldContinue?: () => boolean } = {},
): Promise<{ deleted: number; batches: number }> {
  const batchSize = opts.batchSize ?? RETENTION_BATCH_SIZE;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const r = await sql`
      delete from outbox
       where id = any(array(
         select id from outbox
          where status = 'delivered'
            and delivered_at < now() - ${retentionHours}::int * interval '1 hour'
          limit ${batchSize}
          for update skip locked
       ))`.execute(db);
    const n = Number(r.numAffectedRows ?? 0n);
    deleted += n;
    batches += 1;
    if (n < batchSize || !(opts.shouldContinue?.() ?? true)) return { deleted, batches };
  }
}
