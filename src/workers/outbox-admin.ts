import { sql, type Kysely } from 'kysely';
import { DomainError, errors } from '../domain/errors.js';
import type { Database, OutboxRow } from '../persistence/tables.js';
import { MAX_CURSOR_LENGTH } from '../application/cursor.js';

export const OUTBOX_STATUSES = ['pending', 'delivered', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** One outbox message as the admin routes show it (the payload stays out: it holds customer data). */
export interface OutboxItem {
  id: string;
  kind: string;
  topic: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

type ListedRow = OutboxRow & { cursor_ts: string };

/**
 * Newest first, keyset-paginated on (created_at, id). The cursor carries the
 * timestamp at full microsecond precision: a JS Date would round it to the
 * millisecond and skip rows created within the same millisecond.
 */
export async function listOutbox(
  db: Kysely<Database>,
  q: { status?: OutboxStatus; limit: number; cursor?: string },
): Promise<{ items: OutboxItem[]; next_cursor: string | null }> {
  const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
  let query = db
    .selectFrom('outbox')
    .selectAll()
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_ts'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.status) query = query.where('status', '=', q.status);
  if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.ts}::timestamptz, ${after.id}::uuid)`);
  const rows = (await query.execute()) as ListedRow[];
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
  };
}

/**
 * Puts a dead message back in line with a fresh attempt budget, due now.
 * Retrying a pending message changes nothing and answers 200 (a double click
 * is not an error, and a relay may hold its lease); a delivered one is 409
 * `invalid_transition`: re-sending what was delivered is not a retry.
 */
export async function retryOutboxMessage(db: Kysely<Database>, id: string): Promise<OutboxItem> {
  if (!UUID.test(id)) throw notFound();
  const revived = await db
    .updateTable('outbox')
    .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .returningAll()
    .executeTakeFirst();
  if (revived) return toItem(revived);
  const row = await db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound();
  if (row.status === 'pending') return toItem(row);
  throw new DomainError('invalid_transition', `This message is ${row.status}; only dead messages can be retried.`);
}

const notFound = (): DomainError => new DomainError('not_found', 'No outbox message with this id.');

function toItem(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    kind: r.kind,
    topic: r.topic,
    status: r.status,
    attempts: r.attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
    next_attempt_at: iso(r.next_attempt_at),
    delivered_at: r.delivered_at === null ? null : iso(r.delivered_at),
  };
}

const iso = (d: Date | string): string => new Date(d).toISOString();

function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  if (cursor.length > MAX_CURSOR_LENGTH) throw errors.invalidCursor();
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && CURSOR_TS.test(v[0]) && UUID.test(v[1])) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // fall through: anything we did not issue is the same error
  }
  throw errors.invalidCursor();
}
