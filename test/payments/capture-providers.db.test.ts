import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { buildTestApp, putProduct, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, getJson, uid } from '../helpers/http.js';
import { paymentBody, REAL_PROVIDERS, type RealProvider } from '../helpers/payments.js';

/**
 * PAYMENT_CAPTURE=shipment through HTTP with each provider's real SDK against its emulator:
 * creation authorizes (Stripe manual capture, Square autocomplete false, PayPal an AUTHORIZE
 * order), the move to shipped captures once, a cancel before it voids.
 */
describe.each(DATABASES)('capture at shipment with the providers on %s', (kind) => {
  let emu: Emulators;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startEmulators();
    t = await buildTestApp(kind, { emulators: emu, env: { PAYMENT_CAPTURE: 'shipment' } });
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  const source = (id: RealProvider, amount: number) =>
    id === 'stripe'
      ? 'pm_card_visa'
      : id === 'square'
        ? 'cnon:card-nonce-ok'
        : emu.paypal.approvedOrder(amount, 'USD', { intent: 'AUTHORIZE' });
  const advance = async (orderId: string, status: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${orderId}/status`,
      headers: bearer(await t.adminToken()),
      payload: { status },
    });
  async function authorized(id: RealProvider) {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 1500, stock: 5 });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(t, token, paymentBody(id, source(id, 3000), [{ product_id: sku, quantity: 2 }]));
    expect(res.statusCode, res.body).toBe(201);
    return { token, order: res.json() };
  }
  const kinds = async (orderId: string) =>
    (await getJson(t, await t.adminToken(), `/api/orders/${orderId}/payments`))
      .json()
      .items.map((e: { kind: string; status: string }) => [e.kind, e.status]);

  it.each(REAL_PROVIDERS)('%s: authorized at creation, captured once when shipped', async (id) => {
    const { order } = await authorized(id);
    expect(order.payment).toMatchObject({ status: 'authorized', amount_authorized: 3000, amount_captured: 0 });
    expect(order.payment.authorization_expires_at).toEqual(expect.any(String));
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    const shipped = await advance(order.id, 'shipped');
    expect(shipped.statusCode, shipped.body).toBe(200);
    expect(shipped.json()).toMatchObject({
      status: 'shipped',
      payment: { status: 'succeeded', amount_captured: 3000 },
    });
    expect(await kinds(order.id)).toEqual([
      ['authorization', 'succeeded'],
      ['capture', 'succeeded'],
    ]);
  });

  it('paypal: an order approved with intent CAPTURE → 422 payment_intent_mismatch, no order, nothing taken', async () => {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 1500, stock: 5 });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(
      t,
      token,
      paymentBody('paypal', emu.paypal.approvedOrder(1500, 'USD', { intent: 'CAPTURE' }), [
        { product_id: sku, quantity: 1 },
      ]),
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('payment_intent_mismatch');
    expect((await getJson(t, await t.adminToken(), `/api/products/${sku}`)).json().stock).toBe(5);
  });

  it.each(REAL_PROVIDERS)('%s: a cancel before shipment voids the authorization', async (id) => {
    const { order, token } = await authorized(id);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().order.payment).toMatchObject({ status: 'voided', amount_captured: 0, amount_refunded: 0 });
    expect(await kinds(order.id)).toEqual([
      ['authorization', 'succeeded'],
      ['void', 'succeeded'],
    ]);
  });
});
