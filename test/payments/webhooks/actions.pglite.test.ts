import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { PaymentProvider } from '../../../src/payments/provider.js';
import { createPaymentProcessor } from '../../../src/payments/processor.js';
import { createWebhookVerifiers, type WebhookVerifier } from '../../../src/payments/webhooks/index.js';
import { startEmulators, type Emulators } from '../../emulators/index.js';

/**
 * Money that moved at the provider without us, end to end through each SDK: the
 * emulator makes a dashboard refund or a dispute and signs the webhook its
 * provider sends; the verifier reduces it to an action on the payment the
 * ledger knows; asking the provider then gives the amounts.
 */
let emu: Emulators;
let verify: Record<'stripe' | 'square' | 'paypal', WebhookVerifier>;
let providers: Record<'stripe' | 'square' | 'paypal', PaymentProvider>;

beforeAll(async () => {
  emu = await startEmulators();
  const config = loadConfig({ ...emu.env, JWT_SECRET: 'x'.repeat(32), NODE_ENV: 'test' });
  const v = await createWebhookVerifiers(config, { timeoutMs: 1000, maxRetries: 0 });
  verify = { stripe: v.stripe!, square: v.square!, paypal: v.paypal! };
  const processor = await createPaymentProcessor(config);
  providers = { stripe: processor.get('stripe'), square: processor.get('square'), paypal: processor.get('paypal') };
});
afterAll(() => emu.close());

const charge = (provider: PaymentProvider, source: string, amount = 3000) =>
  provider.charge({
    transactionId: randomUUID(),
    amount,
    currency: 'USD',
    source,
    customerId: 'alice',
    description: 'Order',
    capture: 'immediate',
  });
const deliver = (v: WebhookVerifier, d: { body: string; headers: Record<string, string> }) =>
  v(Buffer.from(d.body), d.headers);

describe('stripe', () => {
  it('a dashboard refund: charge.refunded and refund.created both name the PaymentIntent; refunds() has the amount', async () => {
    const { reference } = await charge(providers.stripe, 'pm_card_visa');
    const { refund, chargeRefunded, refundCreated } = emu.stripe.dashboardRefund(reference, 1200);
    await expect(deliver(verify.stripe, chargeRefunded)).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
      providerType: 'charge.refunded',
    });
    await expect(deliver(verify.stripe, refundCreated)).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
      refundReference: refund.id,
    });
    await expect(providers.stripe.refunds({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: refund.id, amount: 1200, currency: 'USD', status: 'succeeded', refundId: null },
    ]);
  });

  it('a pending refund that settles or fails: refund.updated / refund.failed', async () => {
    const { reference } = await charge(providers.stripe, 'pm_card_visa');
    const { refund } = emu.stripe.dashboardRefund(reference, 500, 'pending');
    await expect(deliver(verify.stripe, emu.stripe.updateRefund(refund.id, 'succeeded'))).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
    });
    const other = emu.stripe.dashboardRefund(reference, 500, 'pending');
    await expect(deliver(verify.stripe, emu.stripe.updateRefund(other.refund.id, 'failed'))).resolves.toMatchObject({
      action: 'refund.updated',
      providerType: 'refund.failed',
      reference,
      refundReference: other.refund.id,
    });
  });

  it('a dispute, opened then closed: dispute.updated for the PaymentIntent each time', async () => {
    const { reference } = await charge(providers.stripe, 'pm_card_visa');
    const { dispute, delivery } = emu.stripe.openDispute(reference);
    await expect(deliver(verify.stripe, delivery)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference,
      disputeReference: dispute.id,
    });
    await expect(deliver(verify.stripe, emu.stripe.settleDispute(dispute.id, 'under_review'))).resolves.toMatchObject({
      action: 'dispute.updated',
      providerType: 'charge.dispute.updated',
      reference,
    });
    await expect(deliver(verify.stripe, emu.stripe.settleDispute(dispute.id, 'lost'))).resolves.toMatchObject({
      action: 'dispute.updated',
      providerType: 'charge.dispute.closed',
      reference,
    });
    await expect(providers.stripe.disputes({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: dispute.id, amount: 3000, currency: 'USD', status: 'lost' },
    ]);
  });

  it('anything else is ignored', async () => {
    const d = emu.stripe.webhook('payment_intent.created', { id: 'pi_x', object: 'payment_intent' });
    await expect(deliver(verify.stripe, d)).resolves.toMatchObject({ action: 'ignored', reference: null });
  });
});

describe('square', () => {
  it('a dashboard refund: refund.created and payment.updated both name the payment; refunds() has the amount', async () => {
    const { reference } = await charge(providers.square, 'cnon:card-nonce-ok');
    const { refund, refundCreated, paymentUpdated } = emu.square.dashboardRefund(reference, 1200);
    await expect(deliver(verify.square, refundCreated)).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
      refundReference: refund.id,
    });
    await expect(deliver(verify.square, paymentUpdated)).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
      providerType: 'payment.updated',
    });
    await expect(providers.square.refunds({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: refund.id, amount: 1200, currency: 'USD', status: 'succeeded', refundId: null },
    ]);
  });

  it('a pending refund that completes: refund.updated', async () => {
    const { reference } = await charge(providers.square, 'cnon:card-nonce-ok');
    const { refund } = emu.square.dashboardRefund(reference, 700, 'PENDING');
    await expect(deliver(verify.square, emu.square.updateRefund(refund.id, 'COMPLETED'))).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
    });
    await expect(providers.square.refunds({ reference, currency: 'USD' })).resolves.toMatchObject([
      { amount: 700, status: 'succeeded' },
    ]);
  });

  it('a dispute, created then decided: dispute.updated for the payment', async () => {
    const { reference } = await charge(providers.square, 'cnon:card-nonce-ok');
    const { dispute, delivery } = emu.square.openDispute(reference, 2000);
    await expect(deliver(verify.square, delivery)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference,
      disputeReference: dispute.id,
    });
    await expect(deliver(verify.square, emu.square.settleDispute(dispute.id, 'WON'))).resolves.toMatchObject({
      action: 'dispute.updated',
      providerType: 'dispute.state.updated',
      reference,
    });
    await expect(providers.square.disputes({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: dispute.id, amount: 2000, currency: 'USD', status: 'won' },
    ]);
  });

  it('payment.updated: a released authorization is no failure, a failed payment is, a plain update is ignored', async () => {
    const voided = emu.square.webhook('payment.updated', {
      payment: { id: 'sqpay_v', status: 'CANCELED', card_details: { status: 'VOIDED' } },
    });
    await expect(deliver(verify.square, voided)).resolves.toMatchObject({ action: 'ignored' });
    const failed = emu.square.webhook('payment.updated', {
      payment: { id: 'sqpay_f', status: 'FAILED', card_details: { status: 'FAILED' } },
    });
    await expect(deliver(verify.square, failed)).resolves.toMatchObject({
      action: 'payment.failed',
      reference: 'sqpay_f',
    });
    const plain = emu.square.webhook('payment.updated', {
      payment: { id: 'sqpay_p', status: 'COMPLETED', refund_ids: [] },
    });
    await expect(deliver(verify.square, plain)).resolves.toMatchObject({ action: 'ignored' });
  });
});

describe('paypal', () => {
  it('a refund in PayPal’s web interface: PAYMENT.CAPTURE.REFUNDED names the capture; refunds() has the amount', async () => {
    const { reference } = await charge(providers.paypal, emu.paypal.approvedOrder(3000, 'USD'));
    const { refund, delivery } = emu.paypal.dashboardRefund(reference, 1200);
    await expect(deliver(verify.paypal, delivery)).resolves.toMatchObject({
      action: 'refund.updated',
      reference,
      refundReference: refund.id,
    });
    await expect(providers.paypal.refunds({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: refund.id, amount: 1200, currency: 'USD', status: 'succeeded', refundId: null },
    ]);
  });

  it('a reversal (PAYMENT.CAPTURE.REVERSED) is a refund of the capture', async () => {
    const d = emu.paypal.webhook('PAYMENT.CAPTURE.REVERSED', {
      id: 'REV1',
      status: 'COMPLETED',
      links: [{ rel: 'up', method: 'GET', href: 'https://api-m.paypal.com/v2/payments/captures/CAP9' }],
    });
    await expect(deliver(verify.paypal, d)).resolves.toMatchObject({
      action: 'refund.updated',
      reference: 'CAP9',
      refundReference: 'REV1',
    });
  });

  it('a dispute, created then resolved: dispute.updated for the capture', async () => {
    const { reference } = await charge(providers.paypal, emu.paypal.approvedOrder(3000, 'USD'));
    const { dispute, delivery } = emu.paypal.openDispute(reference, 1000);
    await expect(deliver(verify.paypal, delivery)).resolves.toMatchObject({
      action: 'dispute.updated',
      reference,
      disputeReference: dispute.dispute_id,
    });
    const resolved = emu.paypal.settleDispute(dispute.dispute_id, 'RESOLVED_BUYER_FAVOUR');
    await expect(deliver(verify.paypal, resolved)).resolves.toMatchObject({
      action: 'dispute.updated',
      providerType: 'CUSTOMER.DISPUTE.RESOLVED',
      reference,
    });
    await expect(providers.paypal.disputes({ reference, currency: 'USD' })).resolves.toEqual([
      { reference: dispute.dispute_id, amount: 1000, currency: 'USD', status: 'lost' },
    ]);
  });
});
