/**
 * How long until a persisted job is tried again (a refund, a reconciliation): exponential
 * with full jitter, capped. The job's row holds the time, counted from the database's clock;
 * the polling worker is the retry loop, so there is no in-process sleep to hand-roll.
 */
export function retryDelayMs(attempts: number, opts: { baseMs: number; maxMs: number }, random = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempts, 30));
  return Math.max(opts.baseMs, Math.round(ceiling * random()));
}
