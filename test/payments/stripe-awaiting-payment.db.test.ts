import { describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../src/application/reconcile-payments.js';
import type { OrderApp } from '../../src/app.js';
import type { Delivery } from '../emulators/stripe-emulator.js';
import { buildTestApp, buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, stockOf, uid } from '../helpers/http.js';
import { paymentBody } from '../helpers/payments.js';

const THREE_DS = 'pm_card_threeDSecureRequired';
const RETURN_URL = 'https://shop.example/return';

describe.each(DATABASES)('Stripe 3-D Secure through the SDK and the emulator on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });
  type AnyJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  async function awaitingOrder(app?: OrderApp) {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 2500, stock: 4 });
    const sub = uid('buyer');
    const token = await t.token(sub);
    const body = paymentBody('stripe', THREE_DS, [{ product_id: productId, quantity: 1 }]);
    const payload = { ...body, payment: { ...body.payment, return_url: RETURN_URL } };
    const res = await (app ?? t.app).inject({ method: 'POST', url: '/api/orders', headers: bearer(token), payload });
    expect(res.statusCode, res.body).toBe(201);
    return { productId, sub, token, order: res.json() as AnyJson };
  }
  const deliver = (d: Delivery) =>
    t.app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: d.headers, payload: d.body });
  const confirm = (token: string, id: string, app?: OrderApp) =>
    (app ?? t.app).inject({ method: 'POST', url: `/api/orders/${id}/payment/confirm`, headers: bearer(token) });
  const read = async (token: string, id: string) => (await getJson(t, token, `/api/orders/${id}`)).json() as AnyJson;
  const topicsOf = async (orderId: string) =>
    (await t.db.selectFrom('outbox').select(['topic', 'payload']).execute())
      .filter((r) => (r.payload as AnyJson).order_id === orderId)
      .map((r) => r.topic);

  it('without a return URL the card is refused as before (error_on_requires_action): 402 authentication_required', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 2500, stock: 4 });
    const res = await createOrder(
      t,
      await t.token(uid('buyer')),
      paymentBody('stripe', THREE_DS, [{ product_id: productId, quantity: 1 }]),
    );
    expect(expectProblem(res, 402, 'payment_declined').decline_code).toBe('authentication_required');
    expect(await stockOf(t, productId)).toBe(4);
  });

  it('with a return URL: the intent is confirmed with it and waits; next_action is its redirect URL and client secret', async () => {
    const { order } = await awaitingOrder();
    const pi = emu.stripe.intents.get(order.payment.provider_reference)!;
    expect(pi.status).toBe('requires_action');
    expect(order).toMatchObject({
      status: 'awaiting_payment',
      payment: {
        status: 'requires_action',
        next_action: {
          type: 'redirect',
          url: pi.next_action!.redirect_to_url.url,
          client_secret: pi.client_secret,
          provider_data: null,
        },
      },
    });
    const create = emu.stripe.requests.find(
      (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.body.includes(order.payment.transaction_id),
    )!;
    const form = new URLSearchParams(create.body);
    expect(form.get('return_url')).toBe(RETURN_URL);
    expect(form.has('error_on_requires_action')).toBe(false);
  });

  it('payment_intent.succeeded places the order once; the customer’s return after it changes nothing', async () => {
    const { order, token } = await awaitingOrder();
    const hook = emu.stripe.authenticate(order.payment.provider_reference, 'complete');
    const res = await deliver(hook);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: true, outcome: 'applied' });
    const placed = await read(token, order.id);
    expect(placed).toMatchObject({
      status: 'pending',
      payment: { status: 'succeeded', amount_captured: 2500, next_action: null },
    });
    expect((await confirm(token, order.id)).json()).toEqual(placed);
    expect((await deliver(hook)).json()).toEqual({ received: true, outcome: 'duplicate' });
    expect((await topicsOf(order.id)).sort()).toEqual(['order.created', 'order_confirmation']);
  });

  it('dozens of returns racing the webhook: placed once, one event, one email', async () => {
    const { order, token } = await awaitingOrder();
    const hook = emu.stripe.authenticate(order.payment.provider_reference, 'complete');
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => confirm(token, order.id)),
      deliver(hook),
      deliver(hook),
      reconcilePayments(t.app.deps).then(() => null),
    ]);
    for (const a of answers) if (a) expect(a.statusCode, a.body).toBe(200);
    expect((await read(token, order.id)).status).toBe('pending');
    expect((await topicsOf(order.id)).sort()).toEqual(['order.created', 'order_confirmation']);
    expect(emu.stripe.chargesFor(order.payment.transaction_id)).toBe(1);
  });

  it('failed authentication (payment_intent.payment_failed): cancelled with payment_failed, stock back, no email', async () => {
    const { order, token, productId } = await awaitingOrder();
    expect(await stockOf(t, productId)).toBe(3);
    expect((await deliver(emu.stripe.authenticate(order.payment.provider_reference, 'fail'))).statusCode).toBe(200);
    expect(await read(token, order.id)).toMatchObject({
      status: 'cancelled',
      payment: { status: 'failed', next_action: null },
    });
    expect(await stockOf(t, productId)).toBe(4);
    expect(await topicsOf(order.id)).toEqual(['order.cancelled']);
  });

  it('an order nobody pays expires: the reconciler cancels the intent (abandoned); the canceled webhook after it changes nothing', async () => {
    const quick = await buildTestApp(t, { emulators: emu, env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1' } });
    try {
      const { order, token, productId } = await awaitingOrder(quick.app);
      await new Promise((r) => setTimeout(r, 1100));
      await reconcilePayments(quick.app.deps);
      const pi = emu.stripe.intents.get(order.payment.provider_reference)!;
      expect(pi).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
      expect(await read(token, order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'failed' } });
      expect(await stockOf(t, productId)).toBe(4);
      expect((await deliver(emu.stripe.canceledWebhook(pi.id))).statusCode).toBe(200);
      expect(await topicsOf(order.id)).toEqual(['order.cancelled']);
    } finally {
      await quick.close();
    }
  });

  it('Stripe unreachable at the expiry: the order ends anyway; the customer completes later and the money is refunded in full, once', async () => {
    const quick = await buildTestApp(t, { emulators: emu, env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1' } });
    try {
      const { order, token, productId } = await awaitingOrder(quick.app);
      await new Promise((r) => setTimeout(r, 1100));
      emu.stripe.failNext(20, 500, /^POST \/v1\/payment_intents\/[^/]+\/cancel$/);
      await reconcilePayments(quick.app.deps);
      expect(await read(token, order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'processing' } });
      expect(await stockOf(t, productId)).toBe(4);
      // The cancel never reached Stripe: the customer can still finish, and its webhook comes.
      const hook = emu.stripe.authenticate(order.payment.provider_reference, 'complete');
      await Promise.all([deliver(hook), deliver(hook)]);
      const refunded = await read(token, order.id);
      expect(refunded).toMatchObject({
        status: 'cancelled',
        payment: { status: 'refunded', amount_captured: 2500, amount_refunded: 2500 },
      });
      expect(emu.stripe.refundsFor(order.payment.provider_reference).map((r) => [r.amount, r.status])).toEqual([
        [2500, 'succeeded'],
      ]);
      const topics = await topicsOf(order.id);
      expect(topics.filter((x) => x === 'payment.refunded')).toHaveLength(1);
      expect(topics).not.toContain('order.created');
    } finally {
      await quick.close();
    }
  });

  it('Stripe unreachable at the expiry and the customer never back: a later reconciler pass cancels the intent, and the charge fails', async () => {
    // Found by the soak: the charge of an order ended while Stripe was down stayed `processing` for
    // ever, the reconciler asking Stripe about an intent that would wait for its customer for ever.
    const quick = await buildTestApp(t, { emulators: emu, env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1' } });
    try {
      const { order, token, productId } = await awaitingOrder(quick.app);
      await new Promise((r) => setTimeout(r, 1100));
      emu.stripe.failNext(20, 500, /^POST \/v1\/payment_intents\/[^/]+\/cancel$/);
      await reconcilePayments(quick.app.deps);
      expect(await read(token, order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'processing' } });
      emu.stripe.resetFaults();
      await t.db
        .updateTable('payment_transactions')
        .set({ next_attempt_at: new Date(Date.now() - 1000) })
        .where('order_id', '=', order.id)
        .execute();
      await reconcilePayments(quick.app.deps);
      const pi = emu.stripe.intents.get(order.payment.provider_reference)!;
      expect(pi).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
      expect(await read(token, order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'failed' } });
      expect(await stockOf(t, productId)).toBe(4);
      // Nothing is left for the reconciler; the canceled webhook after it changes nothing.
      expect((await deliver(emu.stripe.canceledWebhook(pi.id))).statusCode).toBe(200);
      expect(await topicsOf(order.id)).toEqual(['order.cancelled']);
      expect(emu.stripe.refundsFor(pi.id)).toEqual([]);
    } finally {
      await quick.close();
    }
  });

  it('in shipment mode amount_capturable_updated authorizes; shipping captures', async () => {
    const shipment = await buildTestApp(t, { emulators: emu, env: { PAYMENT_CAPTURE: 'shipment' } });
    try {
      const { order, token } = await awaitingOrder(shipment.app);
      const hook = emu.stripe.authenticate(order.payment.provider_reference, 'complete');
      expect(JSON.parse(hook.body).type).toBe('payment_intent.amount_capturable_updated');
      expect(
        (
          await shipment.app.inject({
            method: 'POST',
            url: '/api/webhooks/stripe',
            headers: hook.headers,
            payload: hook.body,
          })
        ).statusCode,
      ).toBe(200);
      expect(await read(token, order.id)).toMatchObject({
        status: 'pending',
        payment: { status: 'authorized', amount_authorized: 2500 },
      });
      const admin = await t.adminToken();
      for (const status of ['processing', 'shipped']) {
        const res = await shipment.app.inject({
          method: 'POST',
          url: `/api/orders/${order.id}/status`,
          headers: bearer(admin),
          payload: { status },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
      expect(emu.stripe.capturedAmount(order.payment.provider_reference)).toBe(2500);
    } finally {
      await shipment.close();
    }
  });

  it('the owner cancels while it waits: the intent is canceled, nothing charged', async () => {
    const { order, token } = await awaitingOrder();
    const res = await t.app.inject({ method: 'POST', url: `/api/orders/${order.id}/cancel`, headers: bearer(token) });
    expect(res.statusCode, res.body).toBe(200);
    expect(emu.stripe.intents.get(order.payment.provider_reference)).toMatchObject({
      status: 'canceled',
      cancellation_reason: 'abandoned',
    });
    expect(() => emu.stripe.authenticate(order.payment.provider_reference, 'complete')).toThrow();
  });

  it('a webhook for an intent the service never created is acknowledged and ignored', async () => {
    const res = await deliver(
      emu.stripe.webhook('payment_intent.succeeded', {
        id: 'pi_never_ours',
        object: 'payment_intent',
        status: 'succeeded',
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, outcome: 'ignored' });
  });

  it('confirm while Stripe is down answers the order as it stands (still waiting), never a 5xx', async () => {
    const { order, token } = await awaitingOrder();
    emu.stripe.failNext(10, 500, /^GET \/v1\/payment_intents\//);
    const res = await confirm(token, order.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'awaiting_payment' });
  });
});
