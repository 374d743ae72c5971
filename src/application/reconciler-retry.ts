import { retryDelayMs } from '../domain/retry-schedule.js';
import type { Deps } from './deps.js';

/**
 * When the reconciler looks again at a charge or a movement (capture, void, refund) whose outcome
 * is still open: 5 s doubling with each attempt, capped at the deployment's RECONCILE_RETRY_MAX_MS.
 */
export const reconcilerRetryDelay = (deps: Deps, attempts: number) =>
  retryDelayMs(attempts, { baseMs: 5_000, maxMs: deps.reconciler.retryMaxMs });
