import { describe, expect, it } from 'vitest';
import { chargeKey, refundKey } from '../../src/payments/idempotency.js';

describe('idempotency keys', () => {
  it('are a pure function of our id', () => {
    expect(chargeKey('9e0f')).toBe('charge-9e0f');
    expect(refundKey('r1')).toBe('refund-r1');
    expect(chargeKey('a'.repeat(300))).toBe(chargeKey('a'.repeat(300)));
  });

  it('fit the provider’s limit, and distinct long ids stay distinct', () => {
    const a = refundKey('x'.repeat(80) + 'a', 45);
    const b = refundKey('x'.repeat(80) + 'b', 45);
    expect(a.length).toBeLessThanOrEqual(45);
    expect(a.startsWith('refund-')).toBe(true);
    expect(a).not.toBe(b);
    expect(chargeKey('0b6a3c1e-5f0d-4c39-9a62-8d0f6f1d2e3a', 45)).toBe('charge-0b6a3c1e-5f0d-4c39-9a62-8d0f6f1d2e3a');
  });
});
