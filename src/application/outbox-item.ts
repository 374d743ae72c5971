import type { OutboxRow } from '../persistence/tables.js';

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

export const OUTBOX_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function toOutboxItem(r: OutboxRow): OutboxItem {
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
