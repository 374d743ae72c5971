import { sql } from 'kysely';
import type { OutboxKind } from './outbox-queue.js';
import type { Db } from './tables.js';

/** The outbox's depth per kind, as the metrics gauges report it. */
export interface OutboxDepth {
  pending: Record<OutboxKind, number>;
  dead: Record<OutboxKind, number>;
  /** Seconds since the oldest pending message was written; 0 when none waits. */
  oldestPendingAge: Record<OutboxKind, number>;
}

/** One statement for all three figures, so one scrape costs one round trip. */
export async function readOutboxDepth(db: Db): Promise<OutboxDepth> {
  const { rows } = await sql<{
    kind: string;
    pending: string | number;
    dead: string | number;
    oldest: string | number | null;
  }>`
    select kind,
           count(*) filter (where status = 'pending') as pending,
           count(*) filter (where status = 'dead') as dead,
           extract(epoch from now() - min(created_at) filter (where status = 'pending')) as oldest
      from outbox
     where status in ('pending', 'dead')
     group by kind`.execute(db);
  const s: OutboxDepth = {
    pending: { email: 0, event: 0 },
    dead: { email: 0, event: 0 },
    oldestPendingAge: { email: 0, event: 0 },
  };
  for (const r of rows) {
    if (r.kind !== 'email' && r.kind !== 'event') continue;
    s.pending[r.kind] = Number(r.pending);
    s.dead[r.kind] = Number(r.dead);
    s.oldestPendingAge[r.kind] = r.oldest === null ? 0 : Math.max(0, Number(r.oldest));
  }
  return s;
}
