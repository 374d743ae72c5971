import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type ChargeCapture,
  type ChargeInput,
} from '../../src/payments/provider.js';
import { createAdyenProvider } from '../../src/payments/adyen.js';
import { PaymentMethod as MolliePaymentMethod } from '@mollie/api-client';
import { createMollieProvider } from '../../src/payments/mollie.js';
import { MOLLIE_METHODS } from '../../src/payments/mollie-methods.js';
import { AdyenEmulator } from '../emulators/adyen-emulator.js';
import { MollieEmulator } from '../emulators/mollie-emulator.js';
import { trustThrowAwayCa } from '../emulators/tls.js';
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

  const chargeRequests = () => h.emulator.requests.filter((r) => h.chargePath.test(`${r.method} ${r.path}`)).length;
  const input = (
    source: string,
    amount = 4999,
    currency = 'USD',
    capture: ChargeCapture = 'immediate',
  ): ChargeInput => ({
    transactionId: randomUUID(),
    amount,
    currency,
    source,
    customerId: 'alice',
    description: 'Order test',
    capture,
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
    const asked = chargeRequests();
    const err = await h
      .provider(FAST)
      .charge(tx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe(declineCode);
    expect(h.chargesFor(tx.transactionId)).toBe(0);
    // A decline is an answer, not a fault: asking again (FAST allows a retry) would only be declined again.
    expect(chargeRequests() - asked).toBe(1);
    const seen = await h.provider(FAST).retrieve({ ...tx, reference: null });
    expect(['failed', 'not_found']).toContain(seen.status);
  });

  it('charging the same transaction again returns the same charge (our own retry is safe)', async () => {
    const { tx, reference } = await charged();
    await expect(h.provider(FAST).charge(tx)).resolves.toEqual({
      reference,
      captured: true,
      authorizationExpiresAt: null,
    });
    expect(h.chargesFor(tx.transactionId)).toBe(1);
  });

  it('a timeout is a PaymentProviderError within a bounded time, nothing charged', async () => {
    h.emulator.hangNext(10, h.chargePath);
    const tx = input(h.goodSource(4999, 'USD'));
    const started = Date.now();
    const err = await h
      .provider(FAST)
      .charge(tx)
      .catch((e: unknown) => e);
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
    const { reference } =
      first instanceof PaymentProviderError ? await provider.charge(tx) : (first as { reference: string });
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
    const refund = {
      transactionId: tx.transactionId,
      refundId: randomUUID(),
      reference,
      amount: 4999,
      currency: 'USD',
    };
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
    const result = await h
      .provider(FAST)
      .refund({ transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 4999, currency: 'USD' });
    expect(result.status).toBe('succeeded');
    expect(refundCalls()).toBe(2);
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('a refund asked for again after the provider forgot its key finds the first refund, makes no second', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const refund = {
      transactionId: tx.transactionId,
      refundId: randomUUID(),
      reference,
      amount: 1500,
      currency: 'USD',
    };
    const first = await provider.refund(refund);
    h.forgetIdempotencyKeys();
    await expect(provider.refund(refund)).resolves.toEqual(first);
    expect(h.refundsOf(reference)).toBe(1);
  });

  it('a pending refund reports pending, then its settled state when asked again, without a second refund', async () => {
    const { tx, reference } = await charged();
    const provider = h.provider(FAST);
    const refund = {
      transactionId: tx.transactionId,
      refundId: randomUUID(),
      reference,
      amount: 4999,
      currency: 'USD',
    };
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

  describe('manual capture', () => {
    const authorized = async (amount = 5000) => {
      const tx = input(h.authorizedSource(amount, 'USD'), amount, 'USD', 'manual');
      const result = await h.provider(FAST).charge(tx);
      return { tx, ...result };
    };
    const captureOf = (tx: ChargeInput, reference: string, amount: number, captureId = randomUUID()) => ({
      transactionId: tx.transactionId,
      captureId,
      reference,
      amount,
      currency: 'USD',
    });
    const declineOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof PaymentDeclinedError ? e.declineCode : e),
      );
    const calls = (path: RegExp) => h.emulator.requests.filter((r) => path.test(`${r.method} ${r.path}`)).length;

    it('authorizes without capturing, with the expiry the provider gives', async () => {
      const { tx, reference, captured, authorizationExpiresAt } = await authorized();
      expect(captured).toBe(false);
      expect(authorizationExpiresAt).toBeInstanceOf(Date);
      expect(authorizationExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 2 * 24 * 3600_000);
      expect(h.capturedAmount(reference)).toBe(0);
      await expect(h.provider(FAST).retrieve({ ...tx, reference, capture: 'manual' })).resolves.toEqual({
        status: 'authorized',
        reference,
        authorizationExpiresAt,
      });
      // A crash before the reference was stored: the authorization is found by our transaction id.
      await expect(h.provider(FAST).retrieve({ ...tx, reference: null, capture: 'manual' })).resolves.toMatchObject({
        status: 'authorized',
        reference,
      });
    });

    it('authorizing the same transaction again returns the same authorization (our own retry is safe)', async () => {
      const { tx, reference, authorizationExpiresAt } = await authorized();
      await expect(h.provider(FAST).charge(tx)).resolves.toEqual({
        reference,
        captured: false,
        authorizationExpiresAt,
      });
      expect(h.capturedAmount(reference)).toBe(0);
    });

    it('captures less than authorized once, however often the same capture is asked for; refunds are bounded by the capture', async () => {
      const { tx, reference } = await authorized(5000);
      const provider = h.provider(FAST);
      const capture = captureOf(tx, reference, 3000);
      const first = await provider.capture(capture);
      await expect(provider.capture(capture)).resolves.toEqual(first);
      expect(h.capturedAmount(reference)).toBe(3000);
      await expect(provider.retrieve({ ...tx, reference, capture: 'manual' })).resolves.toEqual({
        status: 'succeeded',
        reference: first.reference,
      });
      const refund = { transactionId: tx.transactionId, reference: first.reference, currency: 'USD' };
      await expect(provider.refund({ ...refund, refundId: randomUUID(), amount: 3001 })).rejects.toBeInstanceOf(
        PaymentProviderError,
      );
      await expect(provider.refund({ ...refund, refundId: randomUUID(), amount: 3000 })).resolves.toMatchObject({
        status: 'succeeded',
      });
      expect(h.refundsOf(first.reference)).toBe(1);
    });

    it('a capture whose answer was lost, asked for again, captures once', async () => {
      const { tx, reference } = await authorized(5000);
      const provider = h.provider(FAST);
      const capture = captureOf(tx, reference, 5000);
      h.emulator.hangAfterNext(1, h.capturePath);
      const first = await provider.capture(capture).catch((e: unknown) => e);
      const result = first instanceof PaymentProviderError ? await provider.capture(capture) : first;
      expect(result).toEqual({ reference: expect.any(String) });
      expect(h.capturedAmount(reference)).toBe(5000);
      // After the provider forgot the key too, the same capture still finds the first.
      h.forgetIdempotencyKeys();
      await expect(provider.capture(capture)).resolves.toEqual(result);
      expect(h.capturedAmount(reference)).toBe(5000);
    });

    it('a capture of more than was authorized is declined and captures nothing', async () => {
      const { tx, reference } = await authorized(5000);
      expect(await declineOf(h.provider(FAST).capture(captureOf(tx, reference, 5001)))).toBe('amount_too_large');
      expect(h.capturedAmount(reference)).toBe(0);
    });

    it('a void releases the authorization: voiding again is fine, capturing after it is declined', async () => {
      const { tx, reference } = await authorized();
      const provider = h.provider(FAST);
      const voided = { transactionId: tx.transactionId, voidId: randomUUID(), reference };
      await provider.void(voided);
      await provider.void(voided);
      await provider.void({ ...voided, voidId: randomUUID() });
      await expect(provider.retrieve({ ...tx, reference, capture: 'manual' })).resolves.toEqual({
        status: 'voided',
        reference,
        expired: false,
      });
      expect(await declineOf(provider.capture(captureOf(tx, reference, 100)))).toBe('authorization_voided');
      expect(h.capturedAmount(reference)).toBe(0);
    });

    it('a void whose answer was lost, asked for again, succeeds', async () => {
      const { tx, reference } = await authorized();
      const provider = h.provider(FAST);
      const voided = { transactionId: tx.transactionId, voidId: randomUUID(), reference };
      h.emulator.hangAfterNext(1, h.voidPath);
      await provider.void(voided).catch((e: unknown) => expect(e).toBeInstanceOf(PaymentProviderError));
      await provider.void(voided);
      await expect(provider.retrieve({ ...tx, reference, capture: 'manual' })).resolves.toMatchObject({
        status: 'voided',
      });
      expect(calls(h.voidPath)).toBeGreaterThanOrEqual(1);
    });

    it('an expired authorization cannot be captured: declined as authorization_expired', async () => {
      const { tx, reference } = await authorized();
      h.expireAuthorization(reference);
      expect(await declineOf(h.provider(FAST).capture(captureOf(tx, reference, 5000)))).toBe('authorization_expired');
      expect(h.capturedAmount(reference)).toBe(0);
      await expect(h.provider(FAST).retrieve({ ...tx, reference, capture: 'manual' })).resolves.toEqual({
        status: 'voided',
        reference,
        expired: true,
      });
    });

    it('a captured payment cannot be voided', async () => {
      const { tx, reference } = await authorized();
      const provider = h.provider(FAST);
      await provider.capture(captureOf(tx, reference, 5000));
      await expect(
        provider.void({ transactionId: tx.transactionId, voidId: randomUUID(), reference }),
      ).rejects.toBeInstanceOf(PaymentDeclinedError);
      expect(h.capturedAmount(reference)).toBe(5000);
    });
  });

  describe('money learned from the provider', () => {
    it('refunds() lists every refund of a payment, ours with our refund id and the dashboard’s without', async () => {
      const { tx, reference } = await charged(4999);
      const provider = h.provider(FAST);
      const ourId = randomUUID();
      const ours = await provider.refund({
        transactionId: tx.transactionId,
        refundId: ourId,
        reference,
        amount: 1000,
        currency: 'USD',
      });
      const theirs = h.dashboardRefund(reference, 1500);
      await expect(provider.refunds({ reference, currency: 'USD' })).resolves.toEqual([
        { reference: ours.reference, amount: 1000, currency: 'USD', status: 'succeeded', refundId: ourId },
        { reference: theirs, amount: 1500, currency: 'USD', status: 'succeeded', refundId: null },
      ]);
      const none = await charged(100);
      await expect(provider.refunds({ reference: none.reference, currency: 'USD' })).resolves.toEqual([]);
    });

    it('refunds() reports pending and failed refunds as such', async () => {
      const { tx, reference } = await charged(4999);
      const provider = h.provider(FAST);
      h.refundOutcome('pending');
      await provider.refund({
        transactionId: tx.transactionId,
        refundId: randomUUID(),
        reference,
        amount: 1000,
        currency: 'USD',
      });
      await expect(provider.refunds({ reference, currency: 'USD' })).resolves.toMatchObject([
        { amount: 1000, status: 'pending' },
      ]);
      h.refundOutcome('failed');
      await provider
        .refund({ transactionId: tx.transactionId, refundId: randomUUID(), reference, amount: 500, currency: 'USD' })
        .catch(() => undefined);
      await expect(provider.refunds({ reference, currency: 'USD' })).resolves.toMatchObject([
        { status: 'pending' },
        { amount: 500, status: 'failed' },
      ]);
    });

    it('disputes() reports a dispute open, then as the provider settled it', async () => {
      const provider = h.provider(FAST);
      const { reference } = await charged(4999);
      await expect(provider.disputes({ reference, currency: 'USD' })).resolves.toEqual([]);
      const won = h.openDispute(reference, 4999);
      await expect(provider.disputes({ reference, currency: 'USD' })).resolves.toEqual([
        { reference: won, amount: 4999, currency: 'USD', status: 'open' },
      ]);
      h.settleDispute(won, 'won');
      await expect(provider.disputes({ reference, currency: 'USD' })).resolves.toEqual([
        { reference: won, amount: 4999, currency: 'USD', status: 'won' },
      ]);
      const other = await charged(2000);
      const lost = h.openDispute(other.reference, 1200);
      h.settleDispute(lost, 'lost');
      await expect(provider.disputes({ reference: other.reference, currency: 'USD' })).resolves.toEqual([
        { reference: lost, amount: 1200, currency: 'USD', status: 'lost' },
      ]);
    });
  });
});

/**
 * The same contract for Adyen, whose modifications are asynchronous: a capture, cancel or refund
 * answers `received` (our `pending`) and its outcome is the notification Adyen sends, read here
 * from the emulator's record of them. Adyen has no API to look a payment up: `retrieve` answers
 * `processing`, and the AUTHORISATION notification is the account of a charge.
 */
describe('adyen provider contract', () => {
  let emu: AdyenEmulator;
  beforeAll(async () => {
    emu = await new AdyenEmulator().start();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.resetFaults();
    emu.refundStatus = 'succeeded';
  });

  const CARD = JSON.stringify({ type: 'scheme', encryptedCardNumber: 'test_4111111111111111' });
  const provider = () => createAdyenProvider(emu.settings(), FAST);
  const input = (source = CARD, amount = 4999, capture: ChargeCapture = 'immediate'): ChargeInput => ({
    transactionId: randomUUID(),
    amount,
    currency: 'EUR',
    source,
    customerId: 'alice',
    description: 'Order test',
    capture,
  });
  const calls = (path: RegExp) => emu.requests.filter((r) => path.test(`${r.method} ${r.path}`)).length;
  const CHARGE = /^POST \/v72\/payments$/;
  /** The notification Adyen sent for one modification (by its pspReference). */
  const notified = (pspReference: string) =>
    emu.notifications.filter((n) => n.pspReference === pspReference).map((n) => [n.eventCode, n.success, n.reason]);

  it('charges once, reports the pspReference, and an AUTHORISATION notification names our transaction', async () => {
    const tx = input();
    const { reference, captured } = await provider().charge(tx);
    expect(captured).toBe(true);
    expect(emu.chargesFor(tx.transactionId)).toBe(1);
    expect(emu.notifications.find((n) => n.pspReference === reference)).toMatchObject({
      eventCode: 'AUTHORISATION',
      success: 'true',
      merchantReference: tx.transactionId,
    });
    await expect(provider().retrieve({ ...tx, reference })).resolves.toEqual({ status: 'processing' });
  });

  it('maps a refusal to PaymentDeclinedError with the refusal reason as the code, nothing charged, asked once', async () => {
    const tx = input(JSON.stringify({ type: 'scheme', encryptedCardNumber: 'test_refused' }));
    const err = await provider()
      .charge(tx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe('not_enough_balance');
    expect(emu.chargesFor(tx.transactionId)).toBe(0);
    expect(calls(CHARGE)).toBe(1);
  });

  it('a payment that needs the shopper is authentication_required without a way back; a malformed payment method is declined before any call', async () => {
    const ideal = await provider()
      .charge(input(JSON.stringify({ type: 'ideal' })))
      .catch((e: unknown) => e);
    expect((ideal as PaymentDeclinedError).declineCode).toBe('authentication_required');
    const bad = await provider()
      .charge(input('pm_card_visa'))
      .catch((e: unknown) => e);
    expect((bad as PaymentDeclinedError).declineCode).toBe('invalid_payment_method');
    expect(calls(CHARGE)).toBe(1);
  });

  it('charging the same transaction again returns the same charge (the Idempotency-Key replays it)', async () => {
    const tx = input();
    const first = await provider().charge(tx);
    await expect(provider().charge(tx)).resolves.toEqual(first);
    expect(emu.chargesFor(tx.transactionId)).toBe(1);
    expect(new Set(emu.requests.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([`charge-${tx.transactionId}`]),
    );
  });

  it('a timeout is a PaymentProviderError within a bounded time, nothing charged', async () => {
    emu.hangNext(10, CHARGE);
    const tx = input();
    const started = Date.now();
    await expect(provider().charge(tx)).rejects.toBeInstanceOf(PaymentProviderError);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(emu.chargesFor(tx.transactionId)).toBe(0);
  });

  it('a timeout after Adyen charged, and a 500: retried with the same key, one charge', async () => {
    emu.hangAfterNext(1, CHARGE);
    const tx = input();
    const { reference } = await provider().charge(tx);
    expect(emu.chargesFor(tx.transactionId)).toBe(1);
    emu.failNext(1, 500, CHARGE);
    const other = input();
    await provider().charge(other);
    expect(emu.chargesFor(other.transactionId)).toBe(1);
    expect(reference).toMatch(/^[A-Z0-9]{16}$/);
  });

  it('refunds: pending until notified; the same refund asked again is the same one; distinct ids are distinct refunds', async () => {
    const tx = input();
    const { reference } = await provider().charge(tx);
    const refundId = randomUUID();
    const refund = { transactionId: tx.transactionId, refundId, reference, amount: 1000, currency: 'EUR' };
    const first = await provider().refund(refund);
    expect(first).toEqual({ status: 'pending', reference: expect.stringMatching(/^[A-Z0-9]{16}$/) });
    emu.failNext(1, 500, /\/refunds$/);
    await expect(provider().refund(refund)).resolves.toEqual(first);
    await provider().refund({ ...refund, refundId: randomUUID(), amount: 2000 });
    expect(emu.refundsOf(reference).map((n) => [n.amount.value, n.success, n.merchantReference])).toEqual([
      [1000, 'true', refundId],
      [2000, 'true', expect.any(String)],
    ]);
  });

  it('a refund of more than was captured is accepted, then notified as failed; nothing refunded', async () => {
    const tx = input(CARD, 1000);
    const { reference } = await provider().charge(tx);
    const r = await provider().refund({
      transactionId: tx.transactionId,
      refundId: randomUUID(),
      reference,
      amount: 5000,
      currency: 'EUR',
    });
    expect(notified(r.reference)).toEqual([['REFUND', 'false', 'Insufficient in-process balance on payment']]);
  });

  describe('manual capture', () => {
    const authorized = async (amount = 5000) => {
      const tx = input(CARD, amount, 'manual');
      return { tx, ...(await provider().charge(tx)) };
    };
    const captureOf = (tx: ChargeInput, reference: string, amount: number, captureId = randomUUID()) => ({
      transactionId: tx.transactionId,
      captureId,
      reference,
      amount,
      currency: 'EUR',
    });

    it('authorizes without capturing (manualCapture), Adyen naming no expiry', async () => {
      const { reference, captured, authorizationExpiresAt } = await authorized();
      expect(captured).toBe(false);
      expect(authorizationExpiresAt).toBeNull();
      expect(emu.capturedAmount(reference)).toBe(0);
    });

    it('captures less than authorized once, however often the same capture is asked for', async () => {
      const { tx, reference } = await authorized(5000);
      const capture = captureOf(tx, reference, 3000);
      emu.hangAfterNext(1, /\/captures$/);
      const first = await provider().capture(capture);
      expect(first).toEqual({ reference: expect.any(String), pending: true });
      await expect(provider().capture(capture)).resolves.toEqual(first);
      expect(emu.capturedAmount(reference)).toBe(3000);
      expect(notified(first.reference)).toEqual([['CAPTURE', 'true', '']]);
    });

    it('a capture Adyen refuses is notified with its reason: more than authorized, expired, cancelled', async () => {
      const p = provider();
      const a = await authorized(5000);
      expect(notified((await p.capture(captureOf(a.tx, a.reference, 5001))).reference)).toEqual([
        ['CAPTURE', 'false', 'Insufficient balance on payment'],
      ]);
      const b = await authorized();
      emu.expireAuthorization(b.reference);
      expect(notified((await p.capture(captureOf(b.tx, b.reference, 5000))).reference)).toEqual([
        ['CAPTURE', 'false', 'Authorisation expired'],
      ]);
      const c = await authorized();
      await p.void({ transactionId: c.tx.transactionId, voidId: randomUUID(), reference: c.reference });
      expect(notified((await p.capture(captureOf(c.tx, c.reference, 100))).reference)).toEqual([
        ['CAPTURE', 'false', 'Payment cancelled'],
      ]);
      for (const x of [a, b, c]) expect(emu.capturedAmount(x.reference)).toBe(0);
    });

    it('a void is pending until the CANCELLATION notification; a captured payment cannot be cancelled', async () => {
      const { tx, reference } = await authorized();
      const voided = { transactionId: tx.transactionId, voidId: randomUUID(), reference };
      await expect(provider().void(voided)).resolves.toEqual({ pending: true });
      await provider().void(voided);
      expect(
        emu.notifications
          .filter((n) => n.eventCode === 'CANCELLATION' && n.originalReference === reference)
          .map((n) => n.success),
      ).toEqual(['true']);
      const other = await authorized();
      await provider().capture(captureOf(other.tx, other.reference, 5000));
      await provider().void({
        transactionId: other.tx.transactionId,
        voidId: randomUUID(),
        reference: other.reference,
      });
      expect(
        emu.notifications
          .filter((n) => n.eventCode === 'CANCELLATION' && n.originalReference === other.reference)
          .map((n) => [n.success, n.reason]),
      ).toEqual([['false', 'Payment already captured']]);
    });
  });
});

/**
 * Mollie: every payment waits for its customer, so the charge answers with an action (the checkout
 * link) and the rest of the contract is asked of a payment the emulator's customer has paid.
 */
describe('mollie provider contract', () => {
  let emu: MollieEmulator;
  beforeAll(async () => {
    emu = await new MollieEmulator().start();
    trustThrowAwayCa();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    emu.resetFaults();
    emu.refundStatus = 'succeeded';
  });

  // Mollie's library retries no timeout: a first TLS handshake on a loaded machine gets 2 s, the timeout test FAST's 0.4 s.
  const provider = (timeoutMs = 2_000) =>
    createMollieProvider(emu.settings(), { timeoutMs, webhookUrl: 'https://shop.example.com/api/webhooks/mollie' });
  const input = (amount = 4999, capture: ChargeCapture = 'immediate'): ChargeInput => ({
    transactionId: randomUUID(),
    amount,
    currency: 'EUR',
    source: 'ideal',
    customerId: 'alice',
    description: 'Order test',
    capture,
    returnUrl: 'https://shop.example.com/return',
  });
  const paid = async (amount = 4999, capture: ChargeCapture = 'immediate') => {
    const tx = input(amount, capture);
    const { reference } = await provider().charge(tx);
    emu.customerPays(reference, 'paid');
    return { tx, reference };
  };

  it('a charge waits for the customer: the checkout link and Mollie’s expiry; charged again, the same payment', async () => {
    const tx = input();
    const first = await provider().charge(tx);
    expect(first).toMatchObject({
      captured: false,
      action: { url: expect.stringContaining('/checkout/'), expiresAt: expect.any(Date) },
    });
    await expect(provider().charge(tx)).resolves.toEqual(first);
    expect(emu.payments.size).toBeGreaterThanOrEqual(1);
    expect(
      [...emu.payments.values()].filter(
        (p) => (p.metadata as { transaction_id?: string }).transaction_id === tx.transactionId,
      ),
    ).toHaveLength(1);
    // Open at Mollie: it waits for its customer at the checkout (the reconciler may cancel one nobody was sent to).
    await expect(provider().retrieve({ ...tx, reference: first.reference })).resolves.toEqual({
      status: 'processing',
      waitsForCustomer: { reference: first.reference },
    });
  });

  it('retrieve: by reference and by our transaction id; failed, canceled and expired fail', async () => {
    const { tx, reference } = await paid();
    await expect(provider().retrieve({ ...tx, reference })).resolves.toEqual({ status: 'succeeded', reference });
    await expect(provider().retrieve({ ...tx, reference: null })).resolves.toEqual({ status: 'succeeded', reference });
    await expect(provider().retrieve({ ...input(), reference: null })).resolves.toEqual({ status: 'not_found' });
    for (const outcome of ['failed', 'canceled', 'expired'] as const) {
      const other = input();
      const { reference: r } = await provider().charge(other);
      emu.customerPays(r, outcome);
      await expect(provider().retrieve({ ...other, reference: r })).resolves.toMatchObject({ status: 'failed' });
    }
  });

  it('a timeout is a PaymentProviderError within a bounded time (the agent ends a silent socket)', async () => {
    emu.hangNext(5);
    const started = Date.now();
    await expect(provider(FAST.timeoutMs).charge(input())).rejects.toBeInstanceOf(PaymentProviderError);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('refunds once however often asked, after a forgotten key too; distinct ids are distinct refunds; pending until refunded', async () => {
    const { tx, reference } = await paid();
    const refund = {
      transactionId: tx.transactionId,
      refundId: randomUUID(),
      reference,
      amount: 1000,
      currency: 'EUR',
    };
    const first = await provider().refund(refund);
    expect(first.status).toBe('succeeded');
    emu.forgetIdempotencyKeys();
    await expect(provider().refund(refund)).resolves.toEqual(first);
    emu.refundStatus = 'pending';
    const second = await provider().refund({ ...refund, refundId: randomUUID(), amount: 2000 });
    expect(second.status).toBe('pending');
    emu.settleRefunds();
    expect(
      (await provider().refunds({ reference, currency: 'EUR' })).map((r) => [r.amount, r.status, r.refundId]),
    ).toEqual([
      [1000, 'succeeded', refund.refundId],
      [2000, 'succeeded', expect.any(String)],
    ]);
    await expect(provider().refund({ ...refund, refundId: randomUUID(), amount: 5000 })).rejects.toBeInstanceOf(
      PaymentProviderError,
    );
    emu.refundStatus = 'failed';
    await expect(provider().refund({ ...refund, refundId: randomUUID(), amount: 100 })).rejects.toBeInstanceOf(
      RefundFailedError,
    );
  });

  it('manual capture: authorized until captureBefore; captures once; more than authorized, or after expiry, is declined; a release voids', async () => {
    const { tx, reference } = await paid(5000, 'manual');
    const found = await provider().retrieve({ ...tx, reference });
    expect(found).toMatchObject({ status: 'authorized', reference, authorizationExpiresAt: expect.any(Date) });
    const captureOf = (amount: number, captureId = randomUUID()) => ({
      transactionId: tx.transactionId,
      captureId,
      reference,
      amount,
      currency: 'EUR',
    });
    await expect(provider().capture(captureOf(5001))).rejects.toMatchObject({ declineCode: 'amount_too_large' });
    const capture = captureOf(3000);
    await expect(provider().capture(capture)).resolves.toEqual({ reference, pending: false });
    await expect(provider().capture(capture)).resolves.toEqual({ reference, pending: false });
    expect(emu.capturedAmount(reference)).toBe(3000);
    await expect(
      provider().void({ transactionId: tx.transactionId, voidId: randomUUID(), reference }),
    ).rejects.toBeInstanceOf(PaymentDeclinedError);

    const other = await paid(5000, 'manual');
    await provider().void({ transactionId: other.tx.transactionId, voidId: randomUUID(), reference: other.reference });
    await expect(provider().retrieve({ ...other.tx, reference: other.reference })).resolves.toEqual({
      status: 'voided',
      reference: other.reference,
      expired: false,
    });
    const lapsed = await paid(5000, 'manual');
    emu.expireAuthorization(lapsed.reference);
    await expect(provider().capture({ ...captureOf(5000), reference: lapsed.reference })).rejects.toMatchObject({
      declineCode: 'authorization_expired',
    });
  });

  it('disputes: a chargeback open, then won when Mollie reverses it, lost when Mollie settles it unreversed', async () => {
    const { reference } = await paid();
    const chargeback = emu.openDispute(reference, 4999);
    await expect(provider().disputes({ reference, currency: 'EUR' })).resolves.toEqual([
      { reference: chargeback.id, amount: 4999, currency: 'EUR', status: 'open' },
    ]);
    emu.settleDispute(chargeback.id, 'won');
    await expect(provider().disputes({ reference, currency: 'EUR' })).resolves.toMatchObject([{ status: 'won' }]);
    const other = await paid();
    const standing = emu.openDispute(other.reference, 1200);
    emu.settleDispute(standing.id, 'lost');
    await expect(provider().disputes({ reference: other.reference, currency: 'EUR' })).resolves.toEqual([
      { reference: standing.id, amount: 1200, currency: 'EUR', status: 'lost' },
    ]);
  });

  it('the methods the service accepts are the library’s own (less its deprecated ones)', () => {
    const deprecated = [
      'bitcoin',
      'inghomepay',
      'giropay',
      'sofort',
      'payconiq',
      'klarnapaylater',
      'klarnapaynow',
      'klarnasliceit',
    ];
    expect([...MOLLIE_METHODS].sort()).toEqual(
      Object.values(MolliePaymentMethod)
        .filter((m) => !deprecated.includes(m))
        .sort(),
    );
  });
});
