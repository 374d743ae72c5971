import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../../../src/application/reconcile-payments.js';
import { startEmulators, type Emulators } from '../../../emulators/index.js';
import { buildTestApp, buildTestAppPerDescribe, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, expectProblem, getJson } from '../../../helpers/http.js';
import {
  paidOrderThrough,
  providerView,
  REAL_PROVIDERS,
  transaction,
  type RealProvider,
} from '../../../helpers/payments.js';

/**
 * POST /api/webhooks/{stripe,square,paypal} through the HTTP stack: the raw
 * body verified with each provider's scheme (deliveries signed by the
 * emulators), deduplication by event id, and what each event does to the
 * transaction and the order.
 */
interface Delivery {
  body: string;
  headers: Record<string, string>;
  id: string;
}

/** Each provider's own shape of the events the service acts on, for a payment `ref`. */
function events(emu: Emulators, id: RealProvider) {
  switch (id) {
    case 'stripe':
      return {
        ignored: () => emu.stripe.webhook('customer.created', { id: `cus_${randomUUID()}`, object: 'customer' }),
        refundFailed: (ref: string) =>
          emu.stripe.webhook('refund.failed', {
            id: `re_${randomUUID()}`,
            object: 'refund',
            payment_intent: ref,
            status: 'failed',
          }),
        refunded: (ref: string) =>
          emu.stripe.webhook('charge.refunded', {
            id: `ch_${randomUUID()}`,
            object: 'charge',
            payment_intent: ref,
            refunded: true,
          }),
        dispute: (ref: string) => emu.stripe.openDispute(ref).delivery,
        failed: (ref: string) =>
          emu.stripe.webhook('payment_intent.payment_failed', {
            id: ref,
            object: 'payment_intent',
            status: 'requires_payment_method',
          }),
        forged: () =>
          emu.stripe.webhook('customer.created', { id: 'cus_forged', object: 'customer' }, 'whsec_not_the_secret'),
        tamper: (d: Delivery) => ({ ...d, body: d.body.replace('"livemode":false', '"livemode":true') }),
      };
    case 'square':
      return {
        ignored: () => emu.square.webhook('customer.created', { customer: { id: randomUUID() } }),
        refundFailed: (ref: string) =>
          emu.square.webhook('refund.updated', {
            refund: { id: `sqref_${randomUUID()}`, status: 'FAILED', payment_id: ref },
          }),
        refunded: (ref: string) =>
          emu.square.webhook('refund.updated', {
            refund: { id: `sqref_${randomUUID()}`, status: 'COMPLETED', payment_id: ref },
          }),
        dispute: (ref: string) => emu.square.openDispute(ref).delivery,
        failed: (ref: string) => emu.square.webhook('payment.updated', { payment: { id: ref, status: 'FAILED' } }),
        forged: () => emu.square.webhook('customer.created', { customer: { id: 'forged' } }, 'not-the-signature-key'),
        tamper: (d: Delivery) => ({
          ...d,
          body: d.body.replace('"merchant_id":"M-EMULATOR"', '"merchant_id":"M-OTHER"'),
        }),
      };
    case 'paypal':
      return {
        ignored: () => emu.paypal.webhook('CHECKOUT.ORDER.APPROVED', { id: randomUUID(), status: 'APPROVED' }),
        refundFailed: (ref: string) =>
          emu.paypal.webhook('PAYMENT.REFUND.FAILED', {
            id: `REF${randomUUID()}`,
            status: 'FAILED',
            links: [{ href: `https://api-m.sandbox.paypal.com/v2/payments/captures/${ref}`, rel: 'up', method: 'GET' }],
          }),
        refunded: (ref: string) =>
          emu.paypal.webhook('PAYMENT.CAPTURE.REFUNDED', {
            id: `REF${randomUUID()}`,
            status: 'COMPLETED',
            links: [{ href: `https://api-m.sandbox.paypal.com/v2/payments/captures/${ref}`, rel: 'up', method: 'GET' }],
          }),
        dispute: (ref: string) => emu.paypal.openDispute(ref).delivery,
        failed: (ref: string) => emu.paypal.webhook('PAYMENT.CAPTURE.DENIED', { id: ref, status: 'DECLINED' }),
        forged: () => {
          const d = emu.paypal.webhook('CHECKOUT.ORDER.APPROVED', { id: 'forged' });
          return {
            ...d,
            headers: { ...d.headers, 'paypal-transmission-sig': Buffer.from('forged').toString('base64') },
          };
        },
        tamper: (d: Delivery) => ({ ...d, body: d.body.replace('"event_version":"1.0"', '"event_version":"1.1"') }),
      };
  }
}

describe.each(DATABASES)('webhooks over HTTP on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });

  const deliver = (provider: string, d: Delivery) =>
    t.app.inject({ method: 'POST', url: `/api/webhooks/${provider}`, headers: d.headers, payload: d.body });

  const paidOrder = (id: RealProvider, price = 2100) => paidOrderThrough(t, emu, id, price);
  const history = async (token: string, orderId: string) =>
    (await getJson(t, token, `/api/orders/${orderId}/history`)).json().items as {
      status: string;
      actor: string;
      note: string | null;
    }[];

  describe.each(REAL_PROVIDERS)('%s', (id) => {
    const ev = () => events(emu, id);

    it('a signed delivery → 200; the same delivery again → 200 duplicate', async () => {
      const d = ev().ignored();
      const first = await deliver(id, d);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toEqual({ received: true, outcome: 'ignored' });
      const again = await deliver(id, d);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ received: true, outcome: 'duplicate' });
    });

    it('a forged signature, a tampered body or no signature → 400 invalid_signature; a rejected copy does not use up the event id', async () => {
      expectProblem(await deliver(id, ev().forged()), 400, 'invalid_signature');
      const genuine = ev().ignored();
      const tampered = ev().tamper(genuine);
      expect(tampered.body).not.toBe(genuine.body);
      expectProblem(await deliver(id, tampered), 400, 'invalid_signature');
      expectProblem(
        await deliver(id, { ...genuine, headers: { 'content-type': 'application/json' } }),
        400,
        'invalid_signature',
      );
      expect((await deliver(id, genuine)).json()).toEqual({ received: true, outcome: 'ignored' });
    });

    it('a refund-succeeded hint makes a refund_pending payment settle at the next reconcile, once', async () => {
      const p = providerView(emu, id);
      const { token, order } = await paidOrder(id);
      const ref = order.payment.provider_reference as string;
      p.refundStatus('pending');
      const cancelled = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/cancel`,
        headers: bearer(token),
        payload: {},
      });
      expect(cancelled.json().order.payment.status).toBe('refund_pending');
      await reconcilePayments(t.app.deps); // not due yet: nothing changes
      expect((await transaction(t, order.payment.transaction_id)).status).toBe('refund_pending');

      p.settleRefunds();
      const hint = ev().refunded(ref);
      expect((await deliver(id, hint)).json()).toEqual({ received: true, outcome: 'applied' });
      await reconcilePayments(t.app.deps);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refunded');
      expect(await transaction(t, order.payment.transaction_id)).toMatchObject({
        status: 'refunded',
        amount_refunded: 2100,
      });
      expect(p.refunds(ref)).toEqual([2100]);

      expect((await deliver(id, hint)).json().outcome).toBe('duplicate');
      // A fresh hint for a payment that is already refunded: the provider is asked, nothing changes.
      expect((await deliver(id, ev().refunded(ref))).json().outcome).toBe('applied');
      expect(
        (await getJson(t, token, `/api/orders/${order.id}/payments`))
          .json()
          .items.filter((e: { kind: string }) => e.kind === 'refund'),
      ).toHaveLength(1);
      expect(p.refunds(ref)).toEqual([2100]);
    });

    it('a refund the provider refused stays refund_pending, parked; a refund-failed hint re-checks it and never refunds twice', async () => {
      const p = providerView(emu, id);
      const { token, order } = await paidOrder(id);
      const ref = order.payment.provider_reference as string;
      p.refundStatus('failed');
      const cancelled = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/cancel`,
        headers: bearer(token),
        payload: {},
      });
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      expect(cancelled.json().order.payment.status).toBe('refund_pending');
      const refundRow = () =>
        t.db
          .selectFrom('payment_ledger')
          .selectAll()
          .where('transaction_id', '=', order.payment.transaction_id)
          .where('kind', '=', 'refund')
          .executeTakeFirstOrThrow();
      expect((await refundRow()).next_attempt_at.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000); // for a person, not retried hot

      expect((await deliver(id, ev().refundFailed(ref))).json()).toEqual({ received: true, outcome: 'applied' });
      await reconcilePayments(t.app.deps);
      expect(await transaction(t, order.payment.transaction_id)).toMatchObject({
        status: 'refund_pending',
        amount_refunded: 0,
      });
      expect((await refundRow()).next_attempt_at.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
      expect(p.refunds(ref)).toEqual([2100]); // the one refused refund, not a second attempt
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refund_pending');
    });

    it(`a dispute appends a history entry by provider:${id}; the order and payment are unchanged; a redelivery adds nothing`, async () => {
      const { token, order } = await paidOrder(id);
      const d = ev().dispute(order.payment.provider_reference);
      expect((await deliver(id, d)).json()).toEqual({ received: true, outcome: 'applied' });
      expect((await deliver(id, d)).json().outcome).toBe('duplicate');
      const items = await history(token, order.id);
      expect(items).toHaveLength(2);
      expect(items[1]).toMatchObject({
        status: 'pending',
        actor: `provider:${id}`,
        note: expect.stringContaining('dispute'),
      });
      const now = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(now).toMatchObject({ status: 'pending', payment: order.payment });
    });

    it('a payment failed after capture is flagged in the history too', async () => {
      const { token, order } = await paidOrder(id);
      expect((await deliver(id, ev().failed(order.payment.provider_reference))).json().outcome).toBe('applied');
      expect((await history(token, order.id)).at(-1)).toMatchObject({
        actor: `provider:${id}`,
        note: expect.stringContaining('failed'),
      });
    });

    it('an event about a payment we do not know → 200 ignored', async () => {
      const unknown = { stripe: 'pi_unknown', square: 'sqpay_unknown', paypal: 'CAPUNKNOWN' }[id];
      expect((await deliver(id, ev().refunded(unknown))).json()).toEqual({ received: true, outcome: 'ignored' });
    });
  });

  it('a provider with no webhook configuration → 404 (sandbox never has one); an unknown provider → 404 too', async () => {
    const d = emu.stripe.webhook('customer.created', { id: 'cus_1', object: 'customer' });
    expectProblem(await deliver('sandbox', d), 404, 'not_found');
    expectProblem(await deliver('venmo', d), 404, 'not_found');
    expectProblem(await deliver('Stripe', d), 404, 'not_found');
  });

  it('paypal: its verification endpoint down → 503 (PayPal delivers again), and the redelivery is applied', async () => {
    const { token, order } = await paidOrder('paypal');
    emu.paypal.failNext(3, 500, /^POST \/v1\/notifications\/verify-webhook-signature$/);
    const d = events(emu, 'paypal').dispute(order.payment.provider_reference);
    expectProblem(await deliver('paypal', d), 503, 'service_unavailable');
    expect(await history(token, order.id)).toHaveLength(1);
    expect((await deliver('paypal', d)).json()).toEqual({ received: true, outcome: 'applied' });
    expect(await history(token, order.id)).toHaveLength(2);
  });
});

describe.each(DATABASES)('webhooks of providers configured without their webhook settings (%s)', (kind) => {
  let emu: Emulators;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startEmulators();
    const env = Object.fromEntries(Object.entries(emu.env).filter(([k]) => !/WEBHOOK/.test(k)));
    t = await buildTestApp(kind, { env });
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  it.each(REAL_PROVIDERS)('%s → 404 not_found, even for a correctly signed delivery', async (id) => {
    const d = events(emu, id).ignored();
    const res = await t.app.inject({ method: 'POST', url: `/api/webhooks/${id}`, headers: d.headers, payload: d.body });
    expectProblem(res, 404, 'not_found');
  });
});
