import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { ORDER_STATUSES, TRACKING_STATUSES, canTransition, type OrderStatus } from '../../src/domain/order-status.js';
import { isOwnerOrAdmin, transition, type Order } from '../../src/domain/order.js';

/** The contract's state machine, written out independently of the code's table. */
const LEGAL: ReadonlySet<string> = new Set([
  'awaiting_payment→pending',
  'awaiting_payment→cancelled',
  'pending→processing',
  'processing→shipped',
  'shipped→delivered',
  'pending→cancelled',
]);

const ALL_PAIRS = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.map((to) => [from, to] as [OrderStatus, OrderStatus]),
);
const legalPairs = ALL_PAIRS.filter(([f, t]) => LEGAL.has(`${f}→${t}`));
const illegalPairs = ALL_PAIRS.filter(([f, t]) => !LEGAL.has(`${f}→${t}`));

function order(status: OrderStatus): Order {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    user_id: 'alice',
    status,
    currency: 'USD',
    items: [
      {
        product_id: 'sku',
        name: 'Thing',
        quantity: 1,
        unit_price: 100,
        line_total: 100,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ],
    total: 100,
    current_total: 100,
    payment: {
      transaction_id: '00000000-0000-4000-8000-000000000002',
      provider: 'sandbox',
      provider_reference: 'ref',
      status: 'succeeded',
      amount: 100,
      currency: 'USD',
      amount_authorized: 100,
      amount_captured: 100,
      amount_refunded: 0,
      authorization_expires_at: null,
      next_action: null,
    },
    email: null,
    shipping_address: null,
    tracking: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

const AT = new Date('2026-02-03T04:05:06.789Z');

describe('order state machine', () => {
  it('knows the six statuses of the contract', () => {
    expect([...ORDER_STATUSES].sort()).toEqual([
      'awaiting_payment',
      'cancelled',
      'delivered',
      'pending',
      'processing',
      'shipped',
    ]);
    expect([...TRACKING_STATUSES].sort()).toEqual(['delivered', 'processing', 'shipped']);
    expect(legalPairs).toHaveLength(6);
    expect(illegalPairs).toHaveLength(30);
  });

  it.each(legalPairs)('%s → %s is legal', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    const before = order(from);
    const { order: after, change } = transition(before, to, 'admin', AT, 'a note');
    expect(after.status).toBe(to);
    expect(after.updated_at).toBe(AT.toISOString());
    expect(after.created_at).toBe(before.created_at);
    expect(change).toEqual({ from, to, at: AT.toISOString(), actor: 'admin', note: 'a note' });
    expect(before.status).toBe(from); // the input is not mutated
  });

  it.each(illegalPairs)('%s → %s is refused', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    let thrown: unknown;
    try {
      transition(order(from), to, 'admin', AT);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    const err = thrown as DomainError;
    expect(err.code).toBe(to === 'cancelled' ? 'order_not_cancellable' : 'invalid_transition');
    expect(err.status).toBe(409);
    expect(err.message).toContain(from);
  });

  it('note defaults to null', () => {
    expect(transition(order('pending'), 'processing', 'admin', AT).change.note).toBeNull();
  });

  it('tracking: set when given, kept when omitted, cleared when null', () => {
    const ups = { carrier: 'UPS', number: '1Z999' };
    const shipped = transition(order('processing'), 'shipped', 'admin', AT, null, ups).order;
    expect(shipped.tracking).toEqual(ups);
    expect(transition(shipped, 'delivered', 'admin', AT).order.tracking).toEqual(ups);
    expect(transition(shipped, 'delivered', 'admin', AT, null, null).order.tracking).toBeNull();
  });
});

describe('isOwnerOrAdmin', () => {
  it.each([
    ['alice', false, true],
    ['bob', false, false],
    ['bob', true, true],
  ] as const)('sub %s admin=%s → %s', (sub, isAdmin, expected) => {
    expect(isOwnerOrAdmin({ user_id: 'alice' }, { sub, isAdmin })).toBe(expected);
  });
});
