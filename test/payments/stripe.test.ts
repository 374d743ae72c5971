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

const input = (source = 'pm_card_visa') => ({ transactionId: randomUUID(), amount: 1999, currency: 'EUR', source, customerId: 'alice', description: 'Order 1', capture: 'immediate' as const });

describe('stripe', () => {
  it('creates and confirms one PaymentIntent, server-side only, keyed by the transaction', async () => {
    const tx = input();
    await stripe.charge(tx);
    const sent = emu.requests.find((r) => r.method === 'POST' && r.path === '/v1/payment_intents')!;
    expect(sent.headers['idempotency-key']).toBe(`charge-${tx.transactionId}`);
    const form = new URLSearchParams(sent.body);
    expect(Object.fromEntries(form)).toMatchObject({
      amount: '1999', currency: 'eur', payment_method: 'pm_card_visa', confirm: 'true',
      'automatic_payment_methods[enabled]': 'true', 'automatic_payment_methods[allow_redirects]': 'never',
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

  it('an unknown reference retrieves as not_found', async () => {
    await expect(stripe.retrieve({ ...input(), reference: 'pi_missing' })).resolves.toEqual({ status: 'not_found' });
  });
});
