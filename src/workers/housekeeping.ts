import type { Deps } from '../application/deps.js';
import { deleteExpiredKeys } from '../persistence/idempotency-repository.js';
import { deleteDeliveredBefore } from '../persistence/outbox-queue.js';

export interface HousekeepingOptions {
  /** Delivered outbox rows are deleted this long after their delivery (OUTBOX_RETENTION_HOURS). */
  outboxRetentionHours: number;
  /** Outbox rows deleted per statement; the default suits production, tests use a small one. */
  outboxBatchSize?: number;
  intervalMs?: number;
}

/**
 * Hourly, so these tables do not grow without bound: forget idempotency keys
 * past their retention, and delete delivered outbox messages older than
 * OUTBOX_RETENTION_HOURS. Dead outbox messages are never deleted here (see
 * deleteDeliveredBefore): they wait for an operator. Each task fails on its
 * own: a failing one is logged and does not keep the other from running.
 */
export function startHousekeeping(
  deps: Pick<Deps, 'db' | 'logger'>,
  opts: HousekeepingOptions,
): { stop: () => Promise<void> } {
  let stopped = false;
  let inFlight: Promise<void> | null = null;

  const cleanKeys = async () => {
    try {
      const n = await deleteExpiredKeys(deps.db);
      if (n > 0) deps.logger.info({ deleted: n }, 'expired idempotency keys removed');
    } catch (err) {
      deps.logger.warn({ err }, 'housekeeping failed: idempotency keys');
    }
  };
  const cleanOutbox = async () => {
    try {
      const { deleted, batches } = await deleteDeliveredBefore(deps.db, opts.outboxRetentionHours, {
        batchSize: opts.outboxBatchSize,
        shouldContinue: () => !stopped,
      });
      if (deleted > 0) {
        deps.logger.info(
          { deleted, batches, retention_hours: opts.outboxRetentionHours },
          'delivered outbox messages removed',
        );
      }
    } catch (err) {
      deps.logger.warn({ err }, 'housekeeping failed: outbox retention');
    }
  };
  const run = () => {
    if (stopped || inFlight) return; // a slow run (a big backlog) is not overlapped by the next tick
    inFlight = (async () => {
      await cleanKeys();
      if (!stopped) await cleanOutbox();
    })().finally(() => {
      inFlight = null;
    });
  };

  const timer = setInterval(run, opts.intervalMs ?? 3_600_000);
  timer.unref();
  run();
  return {
    /** Stops the schedule; a run in flight finishes its current statement, then stops between batches. */
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
