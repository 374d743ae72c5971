import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectValidation, getJson, stockOf, uid } from '../helpers/http.js';

/**
 * Mollie through HTTP: the service's Mollie provider (the official library, over HTTPS to the
 * emulator, trusting its throw-away CA through NODE_EXTRA_CA_CERTS) and Mollie's unsigned webhook,
 * which only says "look at payment tr_…". Every Mollie payment waits for its customer.
 */
const RETURN = 'https://shop.example.com/checkout/return';

describe.each(DATABASES)('mollie through HTTP on %s', (kind) => {
  describe('immediate capture', () => {
    const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });
    const webhook = (id: string) =>
      t.app.inject({ method: 'POST', url: '/api/webhooks/mollie', ...withBody(emu.mollie.webhook(id)) });
    const read = async (orderId: string) => (await getJson(t, await t.adminToken(), `/api/orders/${orderId}`)).json();
    const events = (orderId: string, topic: string) =>
      t.db
        .selectFrom('outbox')
        .select('payload')
        .where('topic', '=', topic)
        .where(sql<string>`payload->>'order_id'`, '=', orderId)
        .execute();

    async function awaiting(opts: { price?: number; currency?: string; source?: string | null } = {}) {
      const sku = uid('sku');
      const currency = opts.currency ?? 'EUR';
      await putProduct(t, sku, { price: opts.price ?? 1800, stock: 5, currency });
      const token = await t.token(uid('buyer'));
      const source = opts.source === null ? {} : { source: opts.source ?? 'ideal' };
      const res = await createOrder(t, token, {
        items: [{ product_id: sku, quantity: 1 }],
        currency,
        payment: { provider: 'mollie', ...source, return_url: RETURN },
      });
      expect(res.statusCode, res.body).toBe(201);
      return { sku, token, order: res.json() };
    }

    it('awaiting_payment with the checkout link and Mollie’s expiry; the webhook (an id only) makes the service ask, and the order is placed once', async () => {
      const { order } = await awaiting();
      expect(order).toMatchObject({
        status: 'awaiting_payment',
        payment: { provider: 'mollie', status: 'requires_action' },
      });
      const payment = emu.mollie.payments.get(order.payment.provider_reference)!;
      expect(order.payment.next_action).toMatchObject({
        type: 'redirect',
        url: payment._links.checkout!.href,
        client_secret: null,
        provider_data: null,
      });
      const call = emu.mollie.requests.find((r) => r.method === 'POST' && r.path === '/v2/payments')!;
      expect(JSON.parse(call.body)).toMatchObject({
        amount: { currency: 'EUR', value: '18.00' },
        method: 'ideal',
        redirectUrl: RETURN,
        webhookUrl: expect.stringMatching(/^http:\/\/localhost:\d+\/api\/webhooks\/mollie$/),
        metadata: { transaction_id: order.payment.transaction_id },
      });
      expect(call.headers['idempotency-key']).toBe(`charge-${order.payment.transaction_id}`);

      expect((await webhook(order.payment.provider_reference)).json()).toEqual({ received: true, outcome: 'applied' });
      expect((await read(order.id)).status).toBe('awaiting_payment'); // Mollie says open: nothing to do
      emu.mollie.customerPays(order.payment.provider_reference, 'paid');
      await webhook(order.payment.provider_reference);
      await webhook(order.payment.provider_reference);
      expect(await read(order.id)).toMatchObject({
        status: 'pending',
        payment: { status: 'succeeded', amount_captured: 1800, next_action: null },
      });
      expect(await events(order.id, 'order.created')).toHaveLength(1);
    });

    it('Mollie down when its webhook comes for an order that waits: 503, never a 500; the call again places it', async () => {
      // Found by the soak: the webhook asked Mollie through the settle step, and Mollie's 500 was ours.
      const { order } = await awaiting();
      const id = order.payment.provider_reference;
      emu.mollie.customerPays(id, 'paid');
      emu.mollie.failNext(10, 500);
      const down = await webhook(id);
      expect(down.statusCode, down.body).toBe(503);
      expect(down.json()).toMatchObject({ code: 'service_unavailable' });
      emu.mollie.resetFaults();
      expect((await webhook(id)).json()).toEqual({ received: true, outcome: 'applied' });
      expect((await read(order.id)).status).toBe('pending');
    });

    it('amounts are Mollie’s decimal strings per currency exponent: JPY "1500", KWD "1.234"', async () => {
      await awaiting({ currency: 'JPY', price: 1500 });
      await awaiting({ currency: 'KWD', price: 1234 });
      const amounts = emu.mollie.requests
        .filter((r) => r.method === 'POST' && r.path === '/v2/payments')
        .map((r) => JSON.parse(r.body).amount);
      expect(amounts).toEqual([
        { currency: 'JPY', value: '1500' },
        { currency: 'KWD', value: '1.234' },
      ]);
    });

    it('no method: Mollie’s checkout lets the customer choose; the customer’s return (confirm) asks Mollie too', async () => {
      const { token, order } = await awaiting({ source: null });
      expect(JSON.parse(emu.mollie.requests.find((r) => r.method === 'POST')!.body).method).toBeUndefined();
      emu.mollie.customerPays(order.payment.provider_reference, 'paid');
      const back = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/payment/confirm`,
        headers: bearer(token),
        payload: {},
      });
      expect(back.statusCode, back.body).toBe(200);
      expect(back.json().status).toBe('pending');
    });

    it('failed at the checkout: the webhook ends the order (payment_failed), its stock back', async () => {
      const { sku, order } = await awaiting();
      emu.mollie.customerPays(order.payment.provider_reference, 'failed');
      await webhook(order.payment.provider_reference);
      expect(await read(order.id)).toMatchObject({ status: 'cancelled', payment: { status: 'failed' } });
      expect(await stockOf(t, sku)).toBe(5);
    });

    it('422, never a 5xx: no return_url, a method Mollie cannot name, a source that is not a method', async () => {
      const sku = uid('sku');
      await putProduct(t, sku, { price: 100, stock: 5, currency: 'EUR' });
      const token = await t.token(uid('buyer'));
      const body = (payment: Record<string, unknown>) => ({
        items: [{ product_id: sku, quantity: 1 }],
        currency: 'EUR',
        payment: { provider: 'mollie', ...payment },
      });
      expectValidation(await createOrder(t, token, body({ source: 'ideal' })), '/payment/return_url');
      expectValidation(
        await createOrder(t, token, body({ source: 'pm_card_visa', return_url: RETURN })),
        '/payment/source',
      );
      expectValidation(
        await createOrder(t, token, body({ source: { type: 'ideal' }, return_url: RETURN })),
        '/payment/source',
      );
      expect(await stockOf(t, sku)).toBe(5);
      expect(emu.mollie.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    });

    it('a webhook for an id the service never created: 200, nothing asked, nothing changed', async () => {
      const res = await webhook('tr_NeverOurs1');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ received: true, outcome: 'ignored' });
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/webhooks/mollie',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: 'nothing=here',
          })
        ).statusCode,
      ).toBe(200);
      expect(emu.mollie.requests).toHaveLength(0);
    });

    it('refunds move queued/pending → refunded; the Dashboard’s refunds and chargebacks reach the ledger by webhook', async () => {
      const { order } = await awaiting({ price: 3000 });
      emu.mollie.customerPays(order.payment.provider_reference, 'paid');
      await webhook(order.payment.provider_reference);
      emu.mollie.refundStatus = 'pending';
      const refund = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/refunds`,
        headers: bearer(await t.adminToken()),
        payload: { amount: 1000 },
      });
      expect(refund.statusCode, refund.body).toBe(201);
      expect(refund.json().status).toBe('pending');
      const call = emu.mollie.requests.find((r) => r.method === 'POST' && r.path.endsWith('/refunds'))!;
      expect(call.headers['idempotency-key']).toBe(`refund-${refund.json().id}`);
      expect(JSON.parse(call.body)).toMatchObject({
        amount: { currency: 'EUR', value: '10.00' },
        metadata: { refund_id: refund.json().id },
      });
      emu.mollie.settleRefunds();
      emu.mollie.dashboardRefund(order.payment.provider_reference, 500);
      const chargeback = emu.mollie.openDispute(order.payment.provider_reference, 1500);
      await webhook(order.payment.provider_reference);
      await webhook(order.payment.provider_reference);
      const entries = (await getJson(t, await t.adminToken(), `/api/orders/${order.id}/payments`)).json().items;
      expect(
        entries
          .filter((e: { kind: string }) => e.kind === 'refund' || e.kind === 'dispute')
          .map((e: Record<string, unknown>) => [e.kind, e.status, e.amount, e.actor]),
      ).toEqual([
        ['refund', 'succeeded', 1000, expect.any(String)],
        ['refund', 'succeeded', 500, 'provider:mollie'],
        ['dispute', 'open', 1500, 'provider:mollie'],
      ]);
      // Reversed (won), and a second one Mollie settles unreversed (lost); each learned from the webhook that follows.
      emu.mollie.settleDispute(chargeback.id, 'won');
      const second = emu.mollie.openDispute(order.payment.provider_reference, 700);
      await webhook(order.payment.provider_reference);
      emu.mollie.settleDispute(second.id, 'lost');
      await webhook(order.payment.provider_reference);
      const disputes = (await getJson(t, await t.adminToken(), `/api/orders/${order.id}/payments`)).json().items;
      expect(
        disputes
          .filter((e: { kind: string }) => e.kind === 'dispute')
          .map((e: Record<string, unknown>) => [e.provider_reference, e.status, e.amount]),
      ).toEqual([
        [chargeback.id, 'won', 1500],
        [second.id, 'lost', 700],
      ]);
      const history = (await getJson(t, await t.adminToken(), `/api/orders/${order.id}/history`)).json().items;
      expect(history.map((h: { note: string | null }) => h.note)).toEqual(
        expect.arrayContaining([`dispute ${chargeback.id}: won`, `dispute ${second.id}: lost`]),
      );
      expect((await read(order.id)).payment).toMatchObject({ status: 'partially_refunded', amount_refunded: 1500 });
      expect(await events(order.id, 'payment.refunded')).toHaveLength(2);
    });
  });

  describe('capture at shipment', () => {
    const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', env: { PAYMENT_CAPTURE: 'shipment' } });
    const advance = async (orderId: string, status: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/orders/${orderId}/status`,
        headers: bearer(await t.adminToken()),
        payload: { status },
      });

    async function authorized() {
      const sku = uid('sku');
      await putProduct(t, sku, { price: 1500, stock: 5, currency: 'EUR' });
      const token = await t.token(uid('buyer'));
      const res = await createOrder(t, token, {
        items: [{ product_id: sku, quantity: 2 }],
        currency: 'EUR',
        payment: { provider: 'mollie', source: 'creditcard', return_url: RETURN },
      });
      expect(res.statusCode, res.body).toBe(201);
      const order = res.json();
      expect(
        JSON.parse(emu.mollie.requests.findLast((r) => r.method === 'POST' && r.path === '/v2/payments')!.body)
          .captureMode,
      ).toBe('manual');
      emu.mollie.customerPays(order.payment.provider_reference, 'paid');
      await t.app.inject({
        method: 'POST',
        url: '/api/webhooks/mollie',
        ...withBody(emu.mollie.webhook(order.payment.provider_reference)),
      });
      return { token, order };
    }

    it('authorized places the order; shipping captures it once', async () => {
      const { order } = await authorized();
      const placed = (await getJson(t, await t.adminToken(), `/api/orders/${order.id}`)).json();
      expect(placed).toMatchObject({
        status: 'pending',
        payment: { status: 'authorized', amount_authorized: 3000, amount_captured: 0 },
      });
      expect(placed.payment.authorization_expires_at).toBe(
        emu.mollie.payments.get(order.payment.provider_reference)!.captureBefore,
      );
      await advance(order.id, 'processing');
      const shipped = await advance(order.id, 'shipped');
      expect(shipped.statusCode, shipped.body).toBe(200);
      expect(shipped.json()).toMatchObject({
        status: 'shipped',
        payment: { status: 'succeeded', amount_captured: 3000 },
      });
      expect(emu.mollie.capturedAmount(order.payment.provider_reference)).toBe(3000);
    });

    it('a cancel before shipment releases the authorization: voided, nothing captured', async () => {
      const { token, order } = await authorized();
      const cancel = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/cancel`,
        headers: bearer(token),
        payload: {},
      });
      expect(cancel.statusCode, cancel.body).toBe(200);
      expect(cancel.json().order).toMatchObject({
        status: 'cancelled',
        payment: { status: 'voided', amount_captured: 0 },
      });
      expect(emu.mollie.payments.get(order.payment.provider_reference)!.status).toBe('canceled');
    });
  });
});

function withBody(d: { body: string; headers: Record<string, string> }) {
  return { headers: d.headers, payload: d.body };
}
