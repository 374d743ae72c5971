import { describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, uid } from '../helpers/http.js';
import { reconcileNow } from '../helpers/payments.js';

/**
 * PAYMENT_CAPTURE=shipment with Adyen: creation authorizes with manual capture; the move to
 * `shipped` asks Adyen to capture and the order ships when the CAPTURE notification confirms it (a
 * refused capture leaves it where it was, its history saying why); a cancel before shipment asks
 * for a cancel, settled by the CANCELLATION notification.
 */
const CARD = { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' };

describe.each(DATABASES)('adyen capture at shipment on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', env: { PAYMENT_CAPTURE: 'shipment' } });

  const post = (d: { body: string; headers: Record<string, string> }) =>
    t.app.inject({ method: 'POST', url: '/api/webhooks/adyen', headers: d.headers, payload: d.body });
  const deliverAll = async () => {
    const d = emu.adyen.delivery();
    if (d) expect((await post(d)).body).toBe('[accepted]');
  };
  const advance = async (orderId: string, status: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${orderId}/status`,
      headers: bearer(await t.adminToken()),
      payload: { status },
    });
  const read = async (orderId: string) => (await getJson(t, await t.adminToken(), `/api/orders/${orderId}`)).json();
  const ledger = async (orderId: string) =>
    (await getJson(t, await t.adminToken(), `/api/orders/${orderId}/payments`))
      .json()
      .items.map((e: { kind: string; status: string; amount: number }) => [e.kind, e.status, e.amount]);

  async function authorized(quantity = 2) {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 1500, stock: 5, currency: 'EUR' });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(t, token, {
      items: [{ product_id: sku, quantity }],
      currency: 'EUR',
      payment: { provider: 'adyen', source: CARD },
    });
    expect(res.statusCode, res.body).toBe(201);
    await deliverAll();
    return { token, order: res.json() };
  }

  it('authorized with manual capture; shipped only once the CAPTURE notification confirms the capture', async () => {
    const { order } = await authorized();
    expect(order.payment).toMatchObject({ status: 'authorized', amount_authorized: 3000, amount_captured: 0 });
    const call = emu.adyen.requests.find(
      (r) => r.path === '/v72/payments' && JSON.parse(r.body).reference === order.payment.transaction_id,
    )!;
    expect(JSON.parse(call.body)).toMatchObject({ additionalData: { manualCapture: 'true' } });
    expect(JSON.parse(call.body).captureDelayHours).toBeUndefined();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);

    // Accepted, not yet made: 202 with the order as it stands, until Adyen confirms the capture.
    const ship = await advance(order.id, 'shipped');
    expect(ship.statusCode, ship.body).toBe(202);
    expect(ship.json()).toMatchObject({ status: 'processing', payment: { status: 'processing', amount_captured: 0 } });
    expect(await ledger(order.id)).toEqual([
      ['authorization', 'succeeded', 3000],
      ['capture', 'pending', 3000],
    ]);
    // Asked to ship again meanwhile: the same capture, never a second.
    expect((await advance(order.id, 'shipped')).statusCode).toBe(202);
    const captures = emu.adyen.requests.filter(
      (r) => r.path === `/v72/payments/${order.payment.provider_reference}/captures`,
    );
    expect(new Set(captures.map((c) => c.headers['idempotency-key'])).size).toBe(1);

    await deliverAll();
    expect(await read(order.id)).toMatchObject({
      status: 'shipped',
      payment: { status: 'succeeded', amount_captured: 3000 },
    });
    expect(emu.adyen.capturedAmount(order.payment.provider_reference)).toBe(3000);
    // Shipped: asking again is the state machine's 409, as for any order already shipped.
    expectProblem(await advance(order.id, 'shipped'), 409, 'invalid_transition');
    expect((await advance(order.id, 'delivered')).statusCode).toBe(200);
    // A refund after it is made against the payment's pspReference.
    const refund = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/refunds`,
      headers: bearer(await t.adminToken()),
      payload: { amount: 1000 },
    });
    expect(refund.statusCode, refund.body).toBe(201);
    await deliverAll();
    expect((await read(order.id)).payment).toMatchObject({ status: 'partially_refunded', amount_refunded: 1000 });
  });

  it('a partial cancel before shipment: the capture takes only what is still owed', async () => {
    const { token, order } = await authorized(2);
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: { items: [{ product_id: order.items[0].product_id, quantity: 1 }] },
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    await advance(order.id, 'processing');
    await advance(order.id, 'shipped');
    await deliverAll();
    expect(await read(order.id)).toMatchObject({ status: 'shipped', payment: { amount_captured: 1500 } });
    expect(emu.adyen.capturedAmount(order.payment.provider_reference)).toBe(1500);
  });

  it('a capture Adyen refuses (the authorization expired): the order stays, the row failed, the history says why', async () => {
    const { order } = await authorized();
    emu.adyen.expireAuthorization(order.payment.provider_reference);
    await advance(order.id, 'processing');
    expect((await advance(order.id, 'shipped')).statusCode).toBe(202);
    await deliverAll();
    expect(await read(order.id)).toMatchObject({ status: 'processing', payment: { amount_captured: 0 } });
    expect(await ledger(order.id)).toContainEqual(['capture', 'failed', 3000]);
    const history = (await getJson(t, await t.adminToken(), `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1).note).toMatch(/authorization_expired/);
  });

  it('a cancel before shipment voids: the CANCELLATION notification settles it, nothing captured', async () => {
    const { token, order } = await authorized();
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(await ledger(order.id)).toContainEqual(['void', 'pending', 3000]);
    await deliverAll();
    expect(await read(order.id)).toMatchObject({
      status: 'cancelled',
      payment: { status: 'voided', amount_captured: 0 },
    });
    // The reconciler has nothing left to ask.
    await reconcileNow(t, order.payment.transaction_id);
    expect(emu.adyen.requests.filter((r) => r.path.endsWith('/cancels'))).toHaveLength(1);
  });
});
