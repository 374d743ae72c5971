/**
 * Delay before the next delivery attempt. No retry library is installed and
 * none is needed: the retry loop is the relay's poll loop, so only the delay
 * has to be computed, and that is this pure function.
 *
 * Exponential (base · 2^(attempt-1), capped at max) with "equal jitter": the
 * delay is drawn from [d/2, d]. The jitter spreads out the retries of a burst
 * that failed together (an email service coming back is not hit by every
 * message in the same second), while the lower half keeps the growth, so an
 * outage is never hammered early by an unlucky draw near zero.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const base = Math.max(1, opts.baseMs);
  const max = Math.max(base, opts.maxMs);
  // 2 ** 1023 is still finite; min() keeps the cap without overflowing to Infinity.
  const exp = Math.min(max, base * 2 ** Math.min(n - 1, 1023));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
