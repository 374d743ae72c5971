import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/workers/backoff.js';

describe('backoffDelayMs', () => {
  const opts = { baseMs: 1000, maxMs: 60_000 };

  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [6, 16_000, 32_000],
    [7, 30_000, 60_000], // capped
    [50, 30_000, 60_000],
    [10_000, 30_000, 60_000], // no overflow to Infinity/NaN
  ])('attempt %i is drawn from [%i, %i]', (attempt, lo, hi) => {
    expect(backoffDelayMs(attempt, opts, () => 0)).toBe(lo);
    expect(backoffDelayMs(attempt, opts, () => 1)).toBe(hi);
    const d = backoffDelayMs(attempt, opts);
    expect(d).toBeGreaterThanOrEqual(lo);
    expect(d).toBeLessThanOrEqual(hi);
  });

  it('treats nonsense attempts as the first and a max below base as base', () => {
    expect(backoffDelayMs(0, opts, () => 1)).toBe(1000);
    expect(backoffDelayMs(-3, opts, () => 1)).toBe(1000);
    expect(backoffDelayMs(5, { baseMs: 100, maxMs: 10 }, () => 1)).toBe(100);
  });

  it('spreads a burst that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(4, opts)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
