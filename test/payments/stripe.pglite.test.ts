import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentDeclinedError, PaymentProviderError, type PaymentProvider } from '../../src/payments/provider.js';
import { createStripeProvider } from '../../src/payments/stripe.js';
import { StripeEmulator } from '../emulators/stripe-emulator.js';
import { FAST } from './harness.js';

/** Stripe specifics: what goes on the wire, bad tokens, bad keys. */
let emu: StripeEmulator;
let stripe: PaymentProvider;
beforeAll(async () => {
  emu = await new StripeEmulator().start();
  stripe = createStripeProvider({ secretKey: emu.secretKey, apiBase: emu.url, webhookSecret: null }, FAST);
});
afterAll(() => emu.close());

const input = (source = 'pm_card_visa') => ({
  transactionId: randomUUID(),
  amount: 1999,
  currency: 'EUR',
  source,
  customerId: 'alice',
  description: 'Order 1',
  capture: 'immediate' as const,
});

describe('stripe', () => {
  it('creates and confirms one PaymentIntent, server-side only, keyed by the transaction', async () => {
    const tx = input();
    await stripe.charge(tx);
    const sent = emu.requests.find((r) => r.method === 'POST' && r.path === '/v1/payment_intents')!;
    expect(sent.headers['idempotency-key']).toBe(`charge-${tx.transactionId}`);
    const form = new URLSearchParams(sent.body);
    expect(Object.fromEntries(form)).toMatchObject({
      amount: '1999',
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
      'metadata[transaction_id]': tx.transactionId,
    });
  });

  it('a PaymentMethod that does not exist is the customer’s bad token (a decline), not an outage', async () => {
    const err = await stripe.charge(input('not-a-payment-method')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe('invalid_source');
  });

  it('a wrong secret key is a provider error', async () => {
    const bad = createStripeProvider({ secretKey: 'sk_test_wrong', apiBase: emu.url, webhookSecret: null }, FAST);
    await expect(bad.charge(input())).rejects.toBeInstanceOf(PaymentProviderError);
  });

  it('manual capture on the wire: capture_method=manual, then capture with amount_to_capture and cancel, each keyed by our id', async () => {
    const tx = { ...input(), capture: 'manual' as const };
    const { reference, authorizationExpiresAt } = await stripe.charge(tx);
    const created = emu.requests.find(
      (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.body.includes(tx.transactionId),
    )!;
    expect(Object.fromEntries(new URLSearchParams(created.body))).toMatchObject({
      capture_method: 'manual',
      'expand[0]': 'latest_charge',
    });
    const charge = emu.charges.get(emu.intents.get(reference)!.latest_charge!)!;
    expect(authorizationExpiresAt).toEqual(new Date(charge.payment_method_details.card.capture_before! * 1000));

    await stripe.capture({
      transactionId: tx.transactionId,
      captureId: 'cap-1',
      reference,
      amount: 1500,
      currency: 'EUR',
    });
    const captured = emu.requests.find((r) => r.path === `/v1/payment_intents/${reference}/capture`)!;
    expect(captured.headers['idempotency-key']).toBe('capture-cap-1');
    expect(new URLSearchParams(captured.body).get('amount_to_capture')).toBe('1500');
    expect(emu.intents.get(reference)).toMatchObject({
      status: 'succeeded',
      amount_received: 1500,
      amount_capturable: 0,
    });
    // After its key is forgotten, the same capture is recognised by the capture id it left on the intent; another is refused.
    emu.forgetIdempotencyKeys();
    await expect(
      stripe.capture({ transactionId: tx.transactionId, captureId: 'cap-1', reference, amount: 1500, currency: 'EUR' }),
    ).resolves.toEqual({ reference });
    await expect(
      stripe.capture({ transactionId: tx.transactionId, captureId: 'cap-2', reference, amount: 1500, currency: 'EUR' }),
    ).rejects.toMatchObject({
      declineCode: 'already_captured',
    });

    const other = await stripe.charge({ ...tx, transactionId: randomUUID() });
    await stripe.void({ transactionId: tx.transactionId, voidId: 'void-1', reference: other.reference });
    const canceled = emu.requests.find((r) => r.path === `/v1/payment_intents/${other.reference}/cancel`)!;
    expect(canceled.headers['idempotency-key']).toBe('void-void-1');
    expect(emu.intents.get(other.reference)).toMatchObject({
      status: 'canceled',
      cancellation_reason: 'requested_by_customer',
    });
  });

  it('an unknown reference retrieves as not_found', async () => {
    await expect(stripe.retrieve({ ...input(), reference: 'pi_missing' })).resolves.toEqual({ status: 'not_found' });
  });
});
