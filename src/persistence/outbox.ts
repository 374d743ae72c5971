import type { OutboxMessage } from '../domain/messages.js';
import { currentTraceHeaders } from '../observability/tracing.js';
import type { Db } from './tables.js';

/**
 * Writes messages in the caller's transaction, so they exist exactly when the
 * change that owes them is committed. The relay (workers/) delivers them later.
 * Several messages go in one statement (one round trip); `null`s are skipped.
 */
export async function enqueueAll(trx: Db, messages: readonly (OutboxMessage | null)[]): Promise<void> {
  const rows = messages.filter((m): m is OutboxMessage => m !== null);
  if (rows.length === 0) return;
  const trace = traceColumns();
  await trx
    .insertInto('outbox')
    .values(rows.map((m) => ({ ...m, ...trace, last_error: null, delivered_at: null })))
    .execute();
}

/**
 * The trace of the change goes with its messages (migration 013): the relay's delivery continues
 * it (API.md, "Tracing"). Every statement that writes outbox rows writes these two columns.
 */
export function traceColumns(): { traceparent: string | null; tracestate: string | null } {
  const trace = currentTraceHeaders();
  return { traceparent: trace?.traceparent ?? null, tracestate: trace?.tracestate ?? null };
}
