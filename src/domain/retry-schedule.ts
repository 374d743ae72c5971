/**
 * When to try a persisted job again (a refund, a reconciliation): exponential
 * with full jitter, capped. The job's row holds the time; the polling worker is
 * the retry loop, so there is no in-process sleep to hand-roll.
 */
export function nextAttemptAt(now: Date, attempts: number, opts: { baseMs: number; maxMs: number }, random = Math.random): Date {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempts, 30));
  const delay = Math.max(opts.baseMs, Math.round(ceiling * random()));
  return new Date(now.getTime() + delay);
}
