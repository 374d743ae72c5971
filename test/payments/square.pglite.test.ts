import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refundKey } from '../../src/payments/idempotency.js';
import { PaymentDeclinedError, PaymentProviderError, type PaymentProvider } from '../../src/payments/provider.js';
import { createSquareProvider } from '../../src/payments/square.js';
import { SquareEmulator } from '../emulators/square-emulator.js';
import { FAST } from './harness.js';

/** Square specifics: errors inside a 200, BigInt amounts, finding a payment by reference_id across pages. */
let emu: SquareEmulator;
let square: PaymentProvider;
beforeAll(async () => {
  emu = await new SquareEmulator().start();
  square = createSquareProvider(emu.settings(), FAST);
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.resetFaults();
  emu.pageSize = 100;
});

const input = (source = 'cnon:card-nonce-ok', amount = 2500) => ({
  transactionId: randomUUID(),
  amount,
  currency: 'USD',
  source,
  customerId: 'alice',
  description: 'Order',
  capture: 'immediate' as const,
});

describe('square', () => {
  it('a 200 carrying an errors array is a failure, and a later retry charges once', async () => {
    emu.errorsWith200Next(1);
    const tx = input();
    await expect(square.charge(tx)).rejects.toBeInstanceOf(PaymentProviderError);
    expect(emu.chargesFor(tx.transactionId)).toBe(0);
    await square.charge(tx);
    await square.charge(tx);
    expect(emu.chargesFor(tx.transactionId)).toBe(1);
  });

  it('sends money as integers (BigInt in the SDK), never as decimals or strings', async () => {
    await square.charge(input('cnon:card-nonce-ok', 9_007_199_254_740));
    const sent = JSON.parse(emu.requests.at(-1)!.body) as { amount_money: { amount: unknown } };
    expect(sent.amount_money.amount).toBe(9_007_199_254_740);
  });

  it.each([
    ['cnon:card-nonce-rejected-cvv', 'cvv_failure'],
    ['cnon:card-nonce-already-used', 'card_token_used'],
  ])('%s is declined with %s', async (source, code) => {
    const err = await square.charge(input(source)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe(code);
  });

  it('insufficient funds keeps Square’s code, lower-cased', async () => {
    emu.decline('cnon:poor', 'INSUFFICIENT_FUNDS');
    await expect(square.charge(input('cnon:poor'))).rejects.toMatchObject({ declineCode: 'insufficient_funds' });
  });

  it('retrieve without a reference walks every page of the listing to find our reference_id', async () => {
    emu.pageSize = 2;
    const ours = input('cnon:card-nonce-ok', 777);
    const { reference } = await square.charge(ours);
    for (let i = 0; i < 5; i++) await square.charge(input('cnon:card-nonce-ok', 777)); // newer payments, same total
    await expect(square.retrieve({ ...ours, reference: null })).resolves.toEqual({ status: 'succeeded', reference });
    const pages = emu.requests.filter((r) => r.method === 'GET' && r.path === '/v2/payments').length;
    expect(pages).toBeGreaterThan(1);
  });

  it('a declined payment is found as failed with its code', async () => {
    const tx = input('cnon:card-nonce-declined');
    await square.charge(tx).catch(() => undefined);
    await expect(square.retrieve({ ...tx, reference: null })).resolves.toEqual({
      status: 'failed',
      declineCode: 'generic_decline',
    });
  });

  it('an over-long refund id still yields a key within Square’s 45 characters, the same every time', async () => {
    const tx = input();
    const { reference } = await square.charge(tx);
    const refundId = `refund-of-${'x'.repeat(80)}`;
    await square.refund({ transactionId: tx.transactionId, refundId, reference, amount: 100, currency: 'USD' });
    const key = (JSON.parse(emu.requests.find((r) => r.path === '/v2/refunds')!.body) as { idempotency_key: string })
      .idempotency_key;
    expect(key.length).toBeLessThanOrEqual(45);
    expect(key).toBe(refundKey(refundId, 45));
    expect(emu.refundsFor(reference)).toHaveLength(1);
  });

  it('manual capture on the wire: autocomplete false, then UpdatePayment to the lower amount (keyed by our capture id) and CompletePayment', async () => {
    const tx = { ...input('cnon:card-nonce-ok', 5000), capture: 'manual' as const };
    const { reference, authorizationExpiresAt } = await square.charge(tx);
    const created = emu.requests.find(
      (r) => r.method === 'POST' && r.path === '/v2/payments' && r.body.includes(tx.transactionId),
    )!;
    expect(JSON.parse(created.body)).toMatchObject({
      autocomplete: false,
      amount_money: { amount: 5000, currency: 'USD' },
    });
    expect(authorizationExpiresAt).toEqual(new Date(emu.payments.get(reference)!.delayed_until!));

    await square.capture({
      transactionId: tx.transactionId,
      captureId: 'cap-1',
      reference,
      amount: 3200,
      currency: 'USD',
    });
    const [update, complete] = emu.requests
      .filter((r) => r.path === `/v2/payments/${reference}` || r.path === `/v2/payments/${reference}/complete`)
      .filter((r) => r.method !== 'GET');
    expect(update).toMatchObject({ method: 'PUT' });
    expect(JSON.parse(update!.body)).toEqual({
      idempotency_key: 'capture-cap-1',
      payment: { amount_money: { amount: 3200, currency: 'USD' } },
    });
    expect(complete).toMatchObject({ method: 'POST', path: `/v2/payments/${reference}/complete` });
    expect(emu.payments.get(reference)).toMatchObject({
      status: 'COMPLETED',
      total_money: { amount: 3200 },
      approved_money: { amount: 5000 },
    });

    // The whole amount: no update, straight to complete.
    const whole = await square.charge({ ...tx, transactionId: randomUUID() });
    emu.resetFaults();
    await square.capture({
      transactionId: tx.transactionId,
      captureId: 'cap-2',
      reference: whole.reference,
      amount: 5000,
      currency: 'USD',
    });
    expect(emu.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect(emu.capturedAmount(whole.reference)).toBe(5000);
  });

  it('a capture cut off between UpdatePayment and CompletePayment, asked for again, completes at the lower amount', async () => {
    const tx = { ...input('cnon:card-nonce-ok', 5000), capture: 'manual' as const };
    const { reference } = await square.charge(tx);
    emu.resetFaults();
    emu.hangNext(5, /^POST \/v2\/payments\/[^/]+\/complete$/);
    const capture = {
      transactionId: tx.transactionId,
      captureId: randomUUID(),
      reference,
      amount: 4000,
      currency: 'USD',
    };
    await expect(square.capture(capture)).rejects.toBeInstanceOf(PaymentProviderError);
    expect(emu.payments.get(reference)).toMatchObject({ status: 'APPROVED', total_money: { amount: 4000 } });
    emu.resetFaults();
    await expect(square.capture(capture)).resolves.toEqual({ reference });
    expect(emu.capturedAmount(reference)).toBe(4000);
  });
});
