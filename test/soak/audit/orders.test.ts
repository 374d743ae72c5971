import { describe, expect, it } from 'vitest';
import type { DbSnapshot } from '../../../soak/audit/database.js';
import { stuck } from '../../../soak/audit/orders.js';
import { settleHorizonMs, type Deadlines } from '../../../soak/audit/sources.js';

/** The soak audit's "stuck" rule judges what is open by the deadlines the instances ran with. */
const DEADLINES: Deadlines = {
  reconcileAfterMs: 3000,
  reconcileIntervalMs: 1000,
  leaseMs: 90_000,
  notFoundGraceMs: 90_000,
  unansweredChargeMs: 60_000,
  retryMaxMs: 20_000,
  actionTimeoutMs: 20_000,
  providerSessionMs: 25_000,
};
const NOW = new Date('2026-12-07T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

function snapshot(open: Partial<DbSnapshot>): DbSnapshot {
  return {
    now: NOW,
    orders: [],
    items: [],
    products: [],
    transactions: [],
    ledger: [],
    history: [],
    returns: [],
    returnItems: [],
    outbox: [],
    ...open,
  };
}

const charge = (id: string, createdSecondsAgo: number) => ({
  id,
  order_id: `order-${id}`,
  provider: 'adyen',
  provider_reference: null,
  status: 'processing',
  abandoned: true,
  attempts: 3,
  failure_reason: 'provider reports processing',
  created_at: ago(createdSecondsAgo),
  updated_at: ago(1),
  next_attempt_at: ago(0),
  leased_until: null,
  action_expires_at: null,
});

describe('soak audit: stuck past the deadline', () => {
  it('the horizon adds up the request hold, the longest grace, a killed pass lease, one capped backoff, an interval and 30 s', () => {
    expect(settleHorizonMs(DEADLINES)).toBe(3000 + 90_000 + 90_000 + 20_000 + 1000 + 30_000);
  });

  it('nothing open: both lines zero', () => {
    expect(stuck(snapshot({}), DEADLINES).map((l) => l.count)).toEqual([0, 0]);
  });

  it('open past the horizon is stuck; open within it is counted apart, never let through', () => {
    const horizonS = settleHorizonMs(DEADLINES) / 1000;
    const [past, within] = stuck(
      snapshot({
        transactions: [charge('old', horizonS + 5), charge('young', 10)],
        outbox: [
          { id: 'm1', kind: 'event', topic: 'order.created', status: 'pending', created_at: ago(horizonS + 1) },
          { id: 'm2', kind: 'email', topic: 'order_confirmation', status: 'dead', created_at: ago(5) },
        ],
        orders: [
          {
            id: 'o1',
            user_id: 'u',
            status: 'awaiting_payment',
            transaction_id: 't',
            email: null,
            created_at: ago(30),
          },
        ],
      }),
      DEADLINES,
    );
    expect(past!.count).toBe(3);
    expect(past!.examples.join('\n')).toMatch(/charge old .*processing/);
    expect(past!.examples.join('\n')).toMatch(/email order_confirmation m2 dead/);
    expect(within!.count).toBe(2);
    expect(within!.examples.join('\n')).toMatch(/charge young/);
    expect(within!.examples.join('\n')).toMatch(/order o1 still awaiting payment/);
  });
});
