import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPaymentProcessor } from '../../src/payments/processor.js';
import { startEmulators, type Emulators } from '../emulators/index.js';

/** The registry: each provider is on exactly when its configuration is, and built from that configuration. */
let emu: Emulators;
beforeAll(async () => {
  emu = await startEmulators();
});
afterAll(() => emu.close());

const config = (env: Record<string, string>) => loadConfig({ JWT_SECRET: 'x'.repeat(32), NODE_ENV: 'test', ...env });

describe('payment registry', () => {
  it('enables only the sandbox without provider configuration', async () => {
    expect((await createPaymentProcessor(config({}))).enabled()).toEqual(['sandbox']);
  });

  it('enables stripe, paypal, square, adyen and mollie from their environment, and each charges its emulator', async () => {
    const processor = await createPaymentProcessor(config(emu.env));
    expect(processor.enabled().sort()).toEqual(['adyen', 'mollie', 'paypal', 'sandbox', 'square', 'stripe']);
    const sources = {
      stripe: 'pm_card_visa',
      square: 'cnon:card-nonce-ok',
      paypal: emu.paypal.approvedOrder(1500, 'USD'),
      adyen: JSON.stringify({ type: 'scheme', encryptedCardNumber: 'test_4111111111111111' }),
    };
    for (const [id, source] of Object.entries(sources)) {
      const tx = {
        transactionId: randomUUID(),
        amount: 1500,
        currency: 'USD',
        source,
        customerId: 'alice',
        description: 'Order',
        capture: 'immediate' as const,
      };
      await expect(processor.get(id).charge(tx)).resolves.toEqual({
        reference: expect.any(String),
        captured: true,
        authorizationExpiresAt: null,
      });
    }
    expect(emu.stripe.intents.size).toBe(1);
    expect(emu.square.payments.size).toBe(1);
    expect(emu.paypal.captures.size).toBe(1);
    expect(emu.adyen.payments.size).toBe(1);
    // Mollie's payment waits for its customer: the charge answers with the checkout link, over HTTPS to the emulator.
    const mollie = await processor.get('mollie').charge({
      transactionId: randomUUID(),
      amount: 1500,
      currency: 'EUR',
      source: 'ideal',
      customerId: 'alice',
      description: 'Order',
      capture: 'immediate',
      returnUrl: 'https://shop.example.com/return',
    });
    expect(mollie.action?.url).toMatch(/^https:\/\/localhost:\d+\/checkout\//);
    expect(emu.mollie.payments.size).toBe(1);
  });
});
