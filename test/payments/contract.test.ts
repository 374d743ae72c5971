import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PaymentDeclinedError, PaymentProviderError, RefundFailedError, type ChargeInput } from '../../src/payments/provider.js';
import { FAST, HARNESSES, type ProviderHarness } from './harness.js';

/**
 * One contract, every provider: each case runs through the real SDK against a
 * local emulator of the provider's HTTP API, and asserts on the emulator's own
 * record of money moved: never two charges or two refunds for one id.
 */
describe.each(Object.entries(HARNESSES))('%s provider contract', (_name, makeHarness) => {
  let h: ProviderHarness;
  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.emulator.resetFaults();
    h.refundOutcome('succeeded');
  });

  const input = (source: string, amount = 4999, currency = 'USD'): ChargeInput => ({
    transactionId: randomUUID(), amount, currency, source, customerId: 'alice', description: 'Order test', capture: 'immediate',
  });
  const charged = async (amount = 4999) => {
    const tx = input(h.goodSource(amount, 'USD'), amount);
    const { reference } = await h.provider(FAST).charge(tx);
    return { tx, reference };
  };
  const chargeCalls = () => h.emulator.requests.filter((r) => h.chargePath.test(`${r.method} ${r.path}`)).length;
  const refundCalls = () => h.emulator.requests.filter((r) => h.refundPath.test(`${r.method} ${r.path}`)).length;

  it('charges once and reports the reference', async () => {
    const { tx, reference } = await charged();
    expect(reference).toMatch(/\S+/);
    expect(h.chargesFor(tx.transactionId)).toBe(1);
  });

  it('maps a decline to PaymentDeclinedError with the decline code, nothing charged', async () => {
    const { source, declineCode } = h.declinedSource(4999, 'USD');
    const tx = input(source);
    const err = await h.provider(FAST).charge(tx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe(declineCode);
    expect(h.chargesFor(tx.transactionId)).toBe(0);
    const seen = await h.provider(FAST).retrieve({ ...tx, reference: null });
    expect(['failed', 'not_found']).toContain(seen.status);
  });

  it('charging the same transaction again returns the same charge (our own retry is safe)', async () => {
    const { tx, reference } = await charged();
    await expect(h.provider(FAST).charge(tx)).resolves.toEqual({ reference, captured: true, authorizationExpiresAt: null });
    expect(h.chargesFor(tx.transactionId)).toBe(1);
  });

  it('a timeout is a PaymentProviderError within a bounded time, nothing charged', async () => {
    h.emulator.hangNext(10, h.chargePath);
    const tx = input(h.goodSource(4999, 'USD'));
    const started = Date.now();
    const err = await h.provider(FAST).charge(tx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(h.chargesFor(tx.transactionId)).toBe(0);
  });

  it('a timeout after the provider charged: retrying the same transaction charges once', async () => {
    h.emulator.hangAfterNext(1, h.chargePath);
    const tx = input(h.goodSource(4999, 'USD'));
    const provider = h.provider(FAST);
    // The SDK may retry by itself (Stripe, PayPal) or give up (Square): then we retry, as the caller would.
    const first = await provider.charge(tx).catch((e: unknown) => e);
    const { reference } = first instanceof PaymentProviderError ? await provider.charge(tx) : (first as { reference: string });
    expect(h.chargesFor(tx.transactionId)).toBe(1);
    await expect(provider.retrieve({ ...tx, reference: null })).resolves.toEqual({ status: 'succeeded', reference });
  });

  it('a 500 then success: the SDK retries with the same idempotency key, one charge', async () => {
    h.emulator.failNext(1, 500, h.chargePath);
    const { tx, reference } = await charged();
    expect(chargeCalls()).toBe(2);
    expect(h.chargesFor(tx.transactionId)).toBe(1);
    expect(reference).toMatch(/\S+/);
  });

  it('retrieve: succeeded by reference and without one, not_found when nothing was charged', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    await expect(provider.retrieve({ ...tx, reference })).resolves.toEqual({ status: 'succeeded', reference });
    await expect(provider.retrieve({ ...tx, reference: null })).resolves.toEqual({ status: 'succeeded', reference });
    const never = input(h.goodSource(4999, 'USD'));
    await expect(provider.retrieve({ ...never, reference: null })).resolves.toEqual({ status: 'not_found' });
    expect(h.chargesFor(never.transactionId)).toBe(0); // asking never charges
  });

  it('refunds in full once, however often the same refund is asked for', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const refund = { transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 4999, currency: 'USD' };
    const first = await provider.refund(refund);
    expect(first.status).toBe('succeeded');
    await expect(provider.refund(refund)).resolves.toEqual(first);
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('partial refunds: distinct refund ids make distinct refunds, a repeated id does not', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const base = { transactionId: tx.transactionId, reference, currency: 'USD' };
    const a = await provider.refund({ ...base, refundId: randomUUID(), amount: 1000 });
    const bId = randomUUID();
    const b = await provider.refund({ ...base, refundId: bId, amount: 2000 });
    expect(a.reference).not.toBe(b.reference);
    await expect(provider.refund({ ...base, refundId: bId, amount: 2000 })).resolves.toEqual(b);
    expect(h.refundsOf(reference)).toBe(2);
  });

  it('a refund that fails with 500 is retried by the SDK and refunds once', async () => {
    const { tx, reference } = await charged();
    h.emulator.failNext(1, 500, h.refundPath);
    const result = await h.provider(FAST).refund({ transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 4999, currency: 'USD' });
    expect(result.status).toBe('succeeded');
    expect(refundCalls()).toBe(2);
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('a refund asked for again after the provider forgot its key finds the first refund, makes no second', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const refund = { transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 1500, currency: 'USD' };
    const first = await provider.refund(refund);
    h.forgetIdempotencyKeys();
    await expect(provider.refund(refund)).resolves.toEqual(first);
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('a pending refund reports pending, then its settled state when asked again, without a second refund', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const refund = { transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 4999, currency: 'USD' };
    h.refundOutcome('pending');
    const first = await provider.refund(refund);
    expect(first.status).toBe('pending');
    h.settleRefunds();
    await expect(provider.refund(refund)).resolves.toEqual({ status: 'succeeded', reference: first.reference });
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('a refund the provider failed is RefundFailedError (a PaymentProviderError): retrying will not help', async () => {
    const { tx, reference } = await charged();
    h.refundOutcome('failed');
    const err = await h
      .provider(FAST)
      .refund({ transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 4999, currency: 'USD' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefundFailedError);
    expect(err).toBeInstanceOf(PaymentProviderError);
  });

  it('refusing to refund more than was captured is a PaymentProviderError', async () => {
    const { tx, reference } = await charged(1000);
    const err = await h
      .provider(FAST)
      .refund({ transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 5000, currency: 'USD' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(h.refundsOf(reference)).toBe(0);
  });
});
