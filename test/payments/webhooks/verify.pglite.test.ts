import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { PaymentProviderError } from '../../../src/payments/provider.js';
import {
  createWebhookVerifiers,
  InvalidSignatureError,
  type WebhookVerifier,
} from '../../../src/payments/webhooks/index.js';
import { startEmulators, type Emulators } from '../../emulators/index.js';

/**
 * Webhook verification over the raw body, through each SDK's verifier (PayPal:
 * its verify endpoint, on the emulator): genuine deliveries parse to the event
 * the service acts on, anything forged or tampered with is InvalidSignatureError.
 */
let emu: Emulators;
let verify: Required<Pick<Record<string, WebhookVerifier>, 'stripe' | 'square' | 'paypal'>>;

beforeAll(async () => {
  emu = await startEmulators();
  const v = await createWebhookVerifiers(loadConfig({ ...emu.env, JWT_SECRET: 'x'.repeat(32), NODE_ENV: 'test' }), {
    timeoutMs: 1000,
    maxRetries: 0,
  });
  verify = { stripe: v.stripe!, square: v.square!, paypal: v.paypal! };
});
afterAll(() => emu.close());

const tamper = (body: string) => body.replace(/"(re|sq|REF|pi|CAP)/, '"X$1');

describe('stripe webhooks', () => {
  it('accepts a genuine delivery and parses a refund', async () => {
    const d = emu.stripe.webhook('refund.updated', {
      id: 're_1',
      object: 'refund',
      status: 'succeeded',
      payment_intent: 'pi_1',
    });
    await expect(verify.stripe(Buffer.from(d.body), d.headers)).resolves.toMatchObject({
      eventId: d.id,
      action: 'refund.updated',
      reference: 'pi_1',
      refundReference: 're_1',
      providerType: 'refund.updated',
    });
  });

  it('parses disputes and late failures; other events are ignored', async () => {
    const dispute = emu.stripe.webhook('charge.dispute.created', {
      id: 'dp_1',
      object: 'dispute',
      payment_intent: 'pi_2',
    });
    await expect(verify.stripe(dispute.body, dispute.headers)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference: 'pi_2',
    });
    const failed = emu.stripe.webhook('payment_intent.payment_failed', { id: 'pi_3', object: 'payment_intent' });
    await expect(verify.stripe(failed.body, failed.headers)).resolves.toMatchObject({
      action: 'payment.failed',
      reference: 'pi_3',
    });
    const other = emu.stripe.webhook('customer.created', { id: 'cus_1', object: 'customer' });
    await expect(verify.stripe(other.body, other.headers)).resolves.toMatchObject({
      action: 'ignored',
      reference: null,
    });
  });

  it('rejects a forged signature, a tampered body and a missing header', async () => {
    const forged = emu.stripe.webhook(
      'refund.updated',
      { id: 're_1', status: 'succeeded', payment_intent: 'pi_1' },
      'whsec_attacker',
    );
    await expect(verify.stripe(forged.body, forged.headers)).rejects.toBeInstanceOf(InvalidSignatureError);
    const d = emu.stripe.webhook('refund.updated', { id: 're_1', status: 'succeeded', payment_intent: 'pi_1' });
    await expect(verify.stripe(tamper(d.body), d.headers)).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(verify.stripe(d.body, {})).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it('a redelivery carries the same event id (the dedup key)', async () => {
    const d = emu.stripe.webhook('charge.refunded', { id: 'ch_1', object: 'charge', payment_intent: 'pi_9' });
    const [a, b] = await Promise.all([verify.stripe(d.body, d.headers), verify.stripe(d.body, d.headers)]);
    expect(a.eventId).toBe(b.eventId);
    expect(a).toMatchObject({ action: 'refund.updated', reference: 'pi_9' });
  });
});

describe('square webhooks', () => {
  it('accepts a genuine delivery and parses a refund', async () => {
    const d = emu.square.webhook('refund.updated', {
      refund: { id: 'sqref_1', status: 'COMPLETED', payment_id: 'sqpay_1' },
    });
    await expect(verify.square(Buffer.from(d.body), d.headers)).resolves.toMatchObject({
      eventId: d.id,
      action: 'refund.updated',
      reference: 'sqpay_1',
      refundReference: 'sqref_1',
    });
    const failed = emu.square.webhook('refund.updated', {
      refund: { id: 'sqref_2', status: 'REJECTED', payment_id: 'sqpay_1' },
    });
    await expect(verify.square(failed.body, failed.headers)).resolves.toMatchObject({ action: 'refund.updated' });
  });

  it('parses disputes and failed payments', async () => {
    const dispute = emu.square.webhook('dispute.created', {
      dispute: { id: 'd1', disputed_payment: { payment_id: 'sqpay_2' } },
    });
    await expect(verify.square(dispute.body, dispute.headers)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference: 'sqpay_2',
    });
    const failed = emu.square.webhook('payment.updated', { payment: { id: 'sqpay_3', status: 'FAILED' } });
    await expect(verify.square(failed.body, failed.headers)).resolves.toMatchObject({
      action: 'payment.failed',
      reference: 'sqpay_3',
    });
    const completed = emu.square.webhook('payment.updated', { payment: { id: 'sqpay_3', status: 'COMPLETED' } });
    await expect(verify.square(completed.body, completed.headers)).resolves.toMatchObject({ action: 'ignored' });
  });

  it('rejects a forged signature, a tampered body and a missing header', async () => {
    const forged = emu.square.webhook(
      'refund.updated',
      { refund: { id: 'sqref_1', status: 'COMPLETED', payment_id: 'sqpay_1' } },
      'attacker-key',
    );
    await expect(verify.square(forged.body, forged.headers)).rejects.toBeInstanceOf(InvalidSignatureError);
    const d = emu.square.webhook('refund.updated', {
      refund: { id: 'sqref_1', status: 'COMPLETED', payment_id: 'sqpay_1' },
    });
    await expect(verify.square(tamper(d.body), d.headers)).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(verify.square(d.body, {})).rejects.toBeInstanceOf(InvalidSignatureError);
  });
});

describe('paypal webhooks (verified by the verify-webhook-signature endpoint)', () => {
  const refundResource = {
    id: 'REF1',
    status: 'COMPLETED',
    links: [{ rel: 'up', method: 'GET', href: 'https://api-m.paypal.com/v2/payments/captures/CAP1' }],
  };

  it('accepts a genuine delivery and parses a refund of a capture', async () => {
    const d = emu.paypal.webhook('PAYMENT.CAPTURE.REFUNDED', refundResource);
    await expect(verify.paypal(Buffer.from(d.body), d.headers)).resolves.toMatchObject({
      eventId: d.id,
      action: 'refund.updated',
      reference: 'CAP1',
      refundReference: 'REF1',
    });
    const asked = emu.paypal.requests.filter((r) => r.path === '/v1/notifications/verify-webhook-signature');
    expect(JSON.parse(asked.at(-1)!.body)).toMatchObject({
      webhook_id: emu.paypal.webhookId,
      webhook_event: { id: d.id },
    });
  });

  it('parses disputes and denied captures', async () => {
    const dispute = emu.paypal.webhook('CUSTOMER.DISPUTE.CREATED', {
      dispute_id: 'PP-D-1',
      disputed_transactions: [{ seller_transaction_id: 'CAP2' }],
    });
    await expect(verify.paypal(dispute.body, dispute.headers)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference: 'CAP2',
    });
    const denied = emu.paypal.webhook('PAYMENT.CAPTURE.DENIED', { id: 'CAP3', status: 'DECLINED' });
    await expect(verify.paypal(denied.body, denied.headers)).resolves.toMatchObject({
      action: 'payment.failed',
      reference: 'CAP3',
    });
  });

  it('rejects a tampered body, a wrong webhook id and missing headers', async () => {
    const d = emu.paypal.webhook('PAYMENT.CAPTURE.REFUNDED', refundResource);
    await expect(verify.paypal(d.body.replace('COMPLETED', 'PENDING'), d.headers)).rejects.toBeInstanceOf(
      InvalidSignatureError,
    );
    await expect(verify.paypal(d.body, { ...d.headers, 'paypal-transmission-sig': 'Zm9yZ2Vk' })).rejects.toBeInstanceOf(
      InvalidSignatureError,
    );
    const { 'paypal-transmission-sig': _sig, ...missing } = d.headers;
    await expect(verify.paypal(d.body, missing)).rejects.toBeInstanceOf(InvalidSignatureError);
    const other = await createWebhookVerifiers(
      loadConfig({ ...emu.env, PAYPAL_WEBHOOK_ID: 'WH-OTHER', JWT_SECRET: 'x'.repeat(32) }),
      { maxRetries: 0 },
    );
    await expect(other.paypal!(d.body, d.headers)).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it('PayPal unreachable is a PaymentProviderError, not a bad signature', async () => {
    const d = emu.paypal.webhook('PAYMENT.CAPTURE.REFUNDED', refundResource);
    emu.paypal.failNext(1, 503, /verify-webhook-signature/);
    const err = await verify.paypal(d.body, d.headers).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(err).not.toBeInstanceOf(InvalidSignatureError);
  });
});

describe('createWebhookVerifiers', () => {
  it('offers a verifier only for providers whose webhook settings are complete', async () => {
    const { STRIPE_WEBHOOK_SECRET: _s, SQUARE_WEBHOOK_URL: _u, ...rest } = emu.env;
    const v = await createWebhookVerifiers(loadConfig({ ...rest, JWT_SECRET: 'x'.repeat(32) }));
    expect(Object.keys(v)).toEqual(['paypal']);
  });
});
