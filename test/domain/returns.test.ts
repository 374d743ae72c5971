import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  RETURN_STATUSES,
  canMoveReturn,
  moveReturn,
  priceReturn,
  withinReturnWindow,
  type Return,
  type ReturnStatus,
} from '../../src/domain/returns.js';

/** The contract's moves, written out independently of the code's table. */
const LEGAL = new Set(['requested→received', 'requested→rejected']);
const PAIRS = RETURN_STATUSES.flatMap((from) =>
  RETURN_STATUSES.map((to) => [from, to] as [ReturnStatus, ReturnStatus]),
);

const ret = (status: ReturnStatus): Return => ({
  id: '00000000-0000-4000-8000-000000000001',
  order_id: '00000000-0000-4000-8000-000000000002',
  status,
  items: [{ product_id: 'a', quantity: 1 }],
  refund_amount: 100,
  reason: null,
  note: 'old',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});

describe('the return state machine', () => {
  it.each(PAIRS.filter(([f, t]) => LEGAL.has(`${f}→${t}`)))('%s → %s is allowed', (from, to) => {
    expect(canMoveReturn(from, to)).toBe(true);
    const at = new Date('2026-02-01T00:00:00.000Z');
    expect(moveReturn(ret(from), to, at, 'checked')).toMatchObject({
      status: to,
      note: 'checked',
      updated_at: at.toISOString(),
    });
  });

  it.each(PAIRS.filter(([f, t]) => !LEGAL.has(`${f}→${t}`)))('%s → %s throws invalid_transition', (from, to) => {
    expect(canMoveReturn(from, to)).toBe(false);
    let err: unknown;
    try {
      moveReturn(ret(from), to, new Date(), null);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid_transition');
  });

  it('a move without a note keeps the earlier one', () => {
    expect(moveReturn(ret('requested'), 'rejected', new Date(), null).note).toBe('old');
  });
});

describe('the return window', () => {
  const delivered = new Date('2026-03-01T12:00:00.000Z');
  it.each([
    [0, 30, true],
    [30 * 24 * 3600_000, 30, true],
    [30 * 24 * 3600_000 + 1, 30, false],
    [1, 0, false],
  ])('%d ms after delivery with a %d-day window → %s', (after, days, ok) => {
    expect(withinReturnWindow(delivered, new Date(delivered.getTime() + after), days)).toBe(ok);
  });
});

describe('pricing a return', () => {
  const lines = [
    { product_id: 'a', unit_price: 1000, delivered: 3, inReturns: 1 },
    { product_id: 'b', unit_price: 250, delivered: 2, inReturns: 0 },
  ];
  it('prices from the order', () => {
    expect(
      priceReturn(
        [
          { product_id: 'a', quantity: 2 },
          { product_id: 'b', quantity: 2 },
        ],
        lines,
      ),
    ).toEqual({
      items: [
        { product_id: 'a', quantity: 2, unit_price: 1000 },
        { product_id: 'b', quantity: 2, unit_price: 250 },
      ],
      refund_amount: 2500,
    });
  });
  it('reports every problem at once, each at its path', () => {
    try {
      priceReturn(
        [
          { product_id: 'a', quantity: 3 },
          { product_id: 'zz', quantity: 1 },
          { product_id: 'b', quantity: 1 },
          { product_id: 'b', quantity: 1 },
        ],
        lines,
      );
      expect.unreachable();
    } catch (e) {
      expect((e as DomainError).code).toBe('invalid_items');
      expect(((e as DomainError).extra.errors as { path: string }[]).map((x) => x.path)).toEqual([
        '/items/0/quantity',
        '/items/1/product_id',
        '/items/3/product_id',
      ]);
    }
  });
});

describe('RETURN_WINDOW_DAYS', () => {
  const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATABASE_URL: 'memory://' };
  it('defaults to 30 days and takes a whole number of days', () => {
    expect(loadConfig(base).returns.windowDays).toBe(30);
    expect(loadConfig({ ...base, RETURN_WINDOW_DAYS: '7' }).returns.windowDays).toBe(7);
    expect(loadConfig({ ...base, RETURN_WINDOW_DAYS: '0' }).returns.windowDays).toBe(0);
  });
  it.each(['-1', '1.5', 'thirty', '3651'])('refuses %s at boot', (raw) => {
    expect(() => loadConfig({ ...base, RETURN_WINDOW_DAYS: raw })).toThrow(ConfigError);
  });
});
