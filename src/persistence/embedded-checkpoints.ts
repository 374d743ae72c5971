import { sql, type Kysely } from 'kysely';
import type { Database } from './tables.js';

export interface CheckpointPolicy {
  /** How often the WAL position is looked at. */
  everyMs: number;
  /** Checkpoint once this much WAL was written since the last one (PostgreSQL's max_wal_size, in spirit). */
  walBytes: number;
  /** …or once this long passed with any WAL written at all (checkpoint_timeout). */
  maxAgeMs: number;
}

const DEFAULT_CHECKPOINTS: CheckpointPolicy = { everyMs: 10_000, walBytes: 16 * 1024 * 1024, maxAgeMs: 300_000 };

/**
 * PGlite is one PostgreSQL backend in single-user mode: there is no checkpointer process, and it
 * never checkpoints on its own, so the WAL is never recycled and grows with every write — about
 * 6.6 KB per order, without end, on disk and (for `memory://`, whose files live in the process)
 * in RAM (docs/performance.md, "Embedded memory"). This is the checkpointer it lacks: through the
 * Kysely handle, so it waits its turn on the single connection like any query, it checkpoints when
 * enough WAL was written or enough time passed; PostgreSQL then keeps a couple of segments only.
 */
export function startEmbeddedCheckpoints(
  db: Kysely<Database>,
  policy: CheckpointPolicy = DEFAULT_CHECKPOINTS,
): { stop: () => Promise<void> } {
  let lastLsn: string | null = null;
  let lastAt = Date.now();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const tick = async () => {
    const { rows } = await sql<{ lsn: string; written: string | null }>`
      select pg_current_wal_lsn()::text as lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), ${lastLsn ?? '0/0'}::pg_lsn)::text as written`.execute(
      db,
    );
    const { lsn, written } = rows[0]!;
    if (lastLsn === null) {
      lastLsn = lsn;
      return;
    }
    const bytes = Number(written ?? 0);
    if (bytes >= policy.walBytes || (bytes > 0 && Date.now() - lastAt >= policy.maxAgeMs)) {
      await sql`checkpoint`.execute(db);
      const after = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db);
      lastLsn = after.rows[0]!.lsn;
      lastAt = Date.now();
    }
  };

  const timer = setInterval(() => {
    running = running.then(() => (stopped ? undefined : tick())).catch(() => undefined); // a closed database ends it quietly
  }, policy.everyMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
