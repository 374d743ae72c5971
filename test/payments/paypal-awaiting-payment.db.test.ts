import { describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../src/application/reconcile-payments.js';
import type { OrderApp } from '../../src/app.js';
import { buildTestApp, buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectValidation, getJson, stockOf, uid } from '../helpers/http.js';

const RETURN_URL = 'https://shop.example/paypal/return';

describe.each(DATABASES)(
  'PayPal orders the service creates (buyer approval) through the SDK and the emulator on %s',
  (kind) => {
    const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });
    type AnyJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    async function awaitingOrder(app?: OrderApp) {
      const productId = uid('sku');
      await putProduct(t, productId, { price: 1999, stock: 3 });
      const token = await t.token(uid('buyer'));
      const payload = {
        items: [{ product_id: productId, quantity: 2 }],
        currency: 'USD',
        payment: { provider: 'paypal', return_url: RETURN_URL },
      };
      const res = await (app ?? t.app).inject({ method: 'POST', url: '/api/orders', headers: bearer(token), payload });
      expect(res.statusCode, res.body).toBe(201);
      return { productId, token, order: res.json() as AnyJson };
    }
    const deliver = (d: { body: string; headers: Record<string, string> }, app?: OrderApp) =>
      (app ?? t.app).inject({ method: 'POST', url: '/api/webhooks/paypal', headers: d.headers, payload: d.body });
    const confirm = (token: string, id: string, app?: OrderApp) =>
      (app ?? t.app).inject({ method: 'POST', url: `/api/orders/${id}/payment/confirm`, headers: bearer(token) });
    const read = async (token: string, id: string) => (await getJson(t, token, `/api/orders/${id}`)).json() as AnyJson;
    const topicsOf = async (orderId: string) =>
      (await t.db.selectFrom('outbox').select(['topic', 'payload']).execute())
        .filter((r) => (r.payload as AnyJson).order_id === orderId)
        .map((r) => r.topic);

    it('without source: the PayPal order is created for the order’s amount with the return URL; next_action is its payer-action link', async () => {
      const { order } = await awaitingOrder();
      const ppOrder = emu.paypal.orders.get(order.payment.provider_reference)!;
      expect(ppOrder).toMatchObject({
        intent: 'CAPTURE',
        status: 'PAYER_ACTION_REQUIRED',
        purchase_units: [{ amount: { currency_code: 'USD', value: '39.98' } }],
        payment_source: { paypal: { experience_context: { return_url: RETURN_URL, cancel_url: RETURN_URL } } },
      });
      expect(order).toMatchObject({
        status: 'awaiting_payment',
        payment: {
          status: 'requires_action',
          next_action: {
            type: 'redirect',
            url: ppOrder.links!.find((l) => l.rel === 'payer-action')!.href,
            client_secret: null,
            provider_data: { order_id: ppOrder.id },
          },
        },
      });
      const create = emu.paypal.requests.find((r) => r.method === 'POST' && r.path === '/v2/checkout/orders')!;
      expect(create.headers['paypal-request-id']).toBe(`create-${order.payment.transaction_id}`);
    });

    it('approval: the webhook and the buyer’s return race; one capture with a request id from the transaction, placed once', async () => {
      const { order, token } = await awaitingOrder();
      const hook = emu.paypal.approve(order.payment.provider_reference);
      const answers = await Promise.all([
        deliver(hook),
        ...Array.from({ length: 12 }, () => confirm(token, order.id)),
        deliver(hook),
        reconcilePayments(t.app.deps).then(() => null),
      ]);
      for (const a of answers) if (a) expect(a.statusCode, a.body).toBe(200);
      const placed = await read(token, order.id);
      expect(placed).toMatchObject({
        status: 'pending',
        payment: { status: 'succeeded', amount_captured: 3998, next_action: null },
      });
      expect(emu.paypal.capturesFor(order.payment.transaction_id)).toBe(1);
      expect(emu.paypal.captures.has(placed.payment.provider_reference)).toBe(true);
      expect((await topicsOf(order.id)).sort()).toEqual(['order.created', 'order_confirmation']);
    });

    it('before approval the return finds it still waiting; refunds after capture go to the capture', async () => {
      const { order, token } = await awaitingOrder();
      expect((await confirm(token, order.id)).json()).toMatchObject({ status: 'awaiting_payment' });
      emu.paypal.approve(order.payment.provider_reference);
      const placed = (await confirm(token, order.id)).json();
      expect(placed.status).toBe('pending');
      const refund = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/refunds`,
        headers: bearer(await t.adminToken()),
        payload: { amount: 500 },
      });
      expect(refund.statusCode, refund.body).toBe(201);
      expect(emu.paypal.refundsFor(placed.payment.provider_reference).map((r) => r.amount.value)).toEqual(['5.00']);
    });

    it('in shipment mode the order is created with intent AUTHORIZE and authorized after approval; shipping captures', async () => {
      const shipment = await buildTestApp(t, { emulators: emu, env: { PAYMENT_CAPTURE: 'shipment' } });
      try {
        const { order, token } = await awaitingOrder(shipment.app);
        expect(emu.paypal.orders.get(order.payment.provider_reference)!.intent).toBe('AUTHORIZE');
        await deliver(emu.paypal.approve(order.payment.provider_reference), shipment.app);
        const authorized = await read(token, order.id);
        expect(authorized).toMatchObject({
          status: 'pending',
          payment: { status: 'authorized', amount_authorized: 3998, amount_captured: 0 },
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
        expect(emu.paypal.capturedAmount(authorized.payment.provider_reference)).toBe(3998);
      } finally {
        await shipment.close();
      }
    });

    it('never approved: the order expires, stock back, and a late approval captures nothing', async () => {
      const quick = await buildTestApp(t, { emulators: emu, env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1' } });
      try {
        const { order, token, productId } = await awaitingOrder(quick.app);
        await new Promise((r) => setTimeout(r, 1100));
        await reconcilePayments(quick.app.deps);
        expect(await read(token, order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'failed' } });
        expect(await stockOf(t, productId)).toBe(3);
        const late = await deliver(emu.paypal.approve(order.payment.provider_reference), quick.app);
        expect(late.statusCode).toBe(200);
        expect(emu.paypal.capturesFor(order.payment.transaction_id)).toBe(0);
        expect(await topicsOf(order.id)).toEqual(['order.cancelled']);
      } finally {
        await quick.close();
      }
    });

    it('with source nothing changes: the approved order is captured at once', async () => {
      const productId = uid('sku');
      await putProduct(t, productId, { price: 1999, stock: 3 });
      const source = emu.paypal.approvedOrder(1999, 'USD');
      const res = await createOrder(t, await t.token(uid('buyer')), {
        items: [{ product_id: productId, quantity: 1 }],
        currency: 'USD',
        payment: { provider: 'paypal', source, return_url: RETURN_URL },
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ status: 'pending', payment: { status: 'succeeded', next_action: null } });
    });

    it('without source: return_url is required (and source is for every other provider)', async () => {
      const productId = uid('sku');
      await putProduct(t, productId, { price: 1999, stock: 3 });
      const token = await t.token(uid('buyer'));
      const items = [{ product_id: productId, quantity: 1 }];
      expectValidation(
        await createOrder(t, token, { items, currency: 'USD', payment: { provider: 'paypal' } }),
        '/payment/return_url',
      );
      expectValidation(
        await createOrder(t, token, {
          items,
          currency: 'USD',
          payment: { provider: 'stripe', return_url: RETURN_URL },
        }),
        '/payment/source',
      );
      expect(await stockOf(t, productId)).toBe(3);
    });
  },
);
