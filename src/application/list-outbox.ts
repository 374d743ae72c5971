import { errors } from '../domain/errors.js';
import type { OutboxStatus } from '../domain/messages.js';
import { listOutboxRows } from '../persistence/outbox-admin.js';
import { MAX_CURSOR_LENGTH } from './cursor.js';
import { OUTBOX_ID, toOutboxItem, type OutboxItem } from './outbox-item.js';
import type { Deps } from './deps.js';

const CURSOR_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * The outbox for admins, newest first, one keyset page at a time. The cursor
 * carries the row's timestamp at full microsecond precision (persistence/outbox-admin.ts).
 */
export async function listOutbox(
  deps: Pick<Deps, 'db'>,
  q: { status?: OutboxStatus; limit: number; cursor?: string },
): Promise<{ items: OutboxItem[]; next_cursor: string | null }> {
  const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
  const rows = await listOutboxRows(deps.db, { status: q.status, limit: q.limit + 1, after });
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(toOutboxItem),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
  };
}

function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  if (cursor.length > MAX_CURSOR_LENGTH) throw errors.invalidCursor();
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      CURSOR_TS.test(v[0]) &&
      OUTBOX_ID.test(v[1])
    ) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // fall through: anything we did not issue is the same error
  }
  throw errors.invalidCursor();
}
