import type { Deps } from '../application/ports.js';
import { deleteExpiredKeys } from '../persistence/idempotency-repository.js';

/** Hourly: forget idempotency keys past their retention, so the table does not grow without bound. */
export function startHousekeeping(deps: Pick<Deps, 'db' | 'logger'>, intervalMs = 3_600_000): { stop: () => Promise<void> } {
  const run = async () => {
    try {
      const n = await deleteExpiredKeys(deps.db);
      if (n > 0) deps.logger.info({ deleted: n }, 'expired idempotency keys removed');
    } catch (err) {
      deps.logger.warn({ err }, 'housekeeping failed');
    }
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  void run();
  return { stop: async () => clearInterval(timer) };
}
