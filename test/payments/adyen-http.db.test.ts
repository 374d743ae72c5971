import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { NotificationItem } from '../emulators/adyen-emulator.js';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, expectValidation, getJson, stockOf, uid } from '../helpers/http.js';
import { reconcileNow } from '../helpers/payments.js';

/**
 * Adyen through HTTP: the service's Adyen provider (the official library, its HTTP client pointed
 * at the emulator) and Adyen's notifications, signed by the emulator as Adyen signs them and posted
 * to /api/webhooks/adyen. Immediate mode here; capture at shipment in adyen-shipment.test.ts.
 */
const CARD = {
  type: 'scheme',
  encryptedCardNumber: 'test_4111111111111111',
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
};
const REFUSED = { ...CARD, encryptedCardNumber: 'test_refused' };
const CARD_3DS = { ...CARD, encryptedCardNumber: 'test_3ds2' };

describe.each(DATABASES)('adyen through HTTP on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });

  const post = (d: { body: string; headers: Record<string, string> }) =>
    t.app.inject({ method: 'POST', url: '/api/webhooks/adyen', headers: d.headers, payload: d.body });
  /** Adyen posts what it has to tell: the service must answer `[accepted]`. */
  const deliverAll = async () => {
    const d = emu.adyen.delivery();
    if (!d) return;
    const res = await post(d);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('[accepted]');
  };
  const read = async (token: string, path: string) => (await getJson(t, token, path)).json();
  const ledger = async (orderId: string) =>
    (await read(await t.adminToken(), `/api/orders/${orderId}/payments`)).items.map(
      (e: { kind: string; status: string; amount: number }) => [e.kind, e.status, e.amount],
    );
  const events = (orderId: string, topic: string) =>
    t.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', topic)
      .where(sql<string>`payload->>'order_id'`, '=', orderId)
      .execute();

  async function order(source: unknown = CARD, price = 2500) {
    const sku = uid('sku');
    await putProduct(t, sku, { price, stock: 5, currency: 'EUR' });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(t, token, {
      items: [{ product_id: sku, quantity: 1 }],
      currency: 'EUR',
      payment: { provider: 'adyen', source },
    });
    return { sku, token, res };
  }

  it('Authorised: 201, the order placed and paid; `reference` is the transaction id, the pspReference the provider reference', async () => {
    const { res } = await order();
    expect(res.statusCode, res.body).toBe(201);
    const placed = res.json();
    expect(placed).toMatchObject({
      status: 'pending',
      payment: { provider: 'adyen', status: 'succeeded', amount_captured: 2500 },
    });
    const payment = emu.adyen.payments.get(placed.payment.provider_reference)!;
    expect(payment.merchantReference).toBe(placed.payment.transaction_id);
    const call = emu.adyen.requests.find((r) => r.path === '/v72/payments')!;
    expect(JSON.parse(call.body)).toMatchObject({
      captureDelayHours: 0,
      reference: placed.payment.transaction_id,
      paymentMethod: CARD,
      amount: { value: 2500, currency: 'EUR' },
    });
    expect(call.headers['idempotency-key']).toBe(`charge-${placed.payment.transaction_id}`);
    // Its AUTHORISATION notification, twice, changes nothing.
    const d = emu.adyen.delivery()!;
    expect((await post(d)).body).toBe('[accepted]');
    expect((await post(d)).body).toBe('[accepted]');
    expect(await ledger(placed.id)).toEqual([
      ['authorization', 'succeeded', 2500],
      ['capture', 'succeeded', 2500],
    ]);
  });

  it('Refused: 402 with the refusal reason as decline_code; no order, the stock back', async () => {
    const { sku, res } = await order(REFUSED);
    const body = expectProblem(res, 402, 'payment_declined');
    expect(body.decline_code).toBe('not_enough_balance');
    expect(await stockOf(t, sku)).toBe(5);
    await deliverAll(); // AUTHORISATION success=false: nothing left to settle
  });

  it('a payment that needs the shopper, without return_url: 402 authentication_required', async () => {
    const { res } = await order({ type: 'ideal' });
    expect(expectProblem(res, 402, 'payment_declined').decline_code).toBe('authentication_required');
  });

  it('bad sources are 422, never a 5xx: not an object for adyen, an object for another provider, an object without type', async () => {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 100, stock: 5, currency: 'EUR' });
    const token = await t.token(uid('buyer'));
    const body = (provider: string, source: unknown) => ({
      items: [{ product_id: sku, quantity: 1 }],
      currency: 'EUR',
      payment: { provider, source },
    });
    expectValidation(await createOrder(t, token, body('adyen', 'pm_card_visa')), '/payment/source');
    expectValidation(await createOrder(t, token, body('stripe', CARD)), '/payment/source');
    expectProblem(await createOrder(t, token, body('adyen', { encryptedCardNumber: 'x' })), 422, 'validation_error');
    expectProblem(await createOrder(t, token, body('adyen', [CARD])), 422, 'validation_error');
    expect(await stockOf(t, sku)).toBe(5);
  });

  it('an admin refund is pending until the REFUND notification; then refunded, payment.refunded once', async () => {
    const { token, res } = await order();
    const placed = res.json();
    await deliverAll();
    const refund = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${placed.id}/refunds`,
      headers: bearer(await t.adminToken()),
      payload: { amount: 1000, reason: 'damaged' },
    });
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json()).toMatchObject({ kind: 'refund', status: 'pending', amount: 1000 });
    const call = emu.adyen.requests.find((r) => r.path.endsWith('/refunds'))!;
    expect(call.headers['idempotency-key']).toBe(`refund-${refund.json().id}`);
    expect(JSON.parse(call.body)).toMatchObject({
      reference: refund.json().id,
      amount: { value: 1000, currency: 'EUR' },
    });
    expect((await read(token, `/api/orders/${placed.id}`)).payment.status).toBe('refund_pending');

    const d = emu.adyen.delivery()!;
    await post(d);
    await post(d); // delivered again: counted once
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
    expect(await events(placed.id, 'payment.refunded')).toHaveLength(1);
  });

  it('a refund Adyen refuses (REFUND success=false) stays pending for a person; it is never counted as refunded', async () => {
    const { token, res } = await order();
    const placed = res.json();
    await deliverAll();
    emu.adyen.refundStatus = 'failed';
    const refund = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${placed.id}/refunds`,
      headers: bearer(await t.adminToken()),
      payload: { amount: 2500 },
    });
    expect(refund.statusCode, refund.body).toBe(201);
    await deliverAll();
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({
      status: 'refund_pending',
      amount_refunded: 0,
    });
    expect(await events(placed.id, 'payment.refunded')).toHaveLength(0);
  });

  it('no notification: the reconciler asks again with the same Idempotency-Key, and Adyen refunds once', async () => {
    const { res } = await order();
    const placed = res.json();
    await deliverAll();
    emu.adyen.refundStatus = 'pending';
    const refund = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${placed.id}/refunds`,
      headers: bearer(await t.adminToken()),
      payload: { amount: 500 },
    });
    await reconcileNow(t, placed.payment.transaction_id);
    const calls = emu.adyen.requests.filter(
      (r) => r.path === `/v72/payments/${placed.payment.provider_reference}/refunds`,
    );
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(calls.map((c) => c.headers['idempotency-key']))).toEqual(new Set([`refund-${refund.json().id}`]));
    expect(emu.adyen.refundsOf(placed.payment.provider_reference)).toHaveLength(1);
    emu.adyen.settleRefunds();
    await deliverAll();
    expect(await ledger(placed.id)).toContainEqual(['refund', 'succeeded', 500]);
  });

  it('a refund in the Customer Area and a chargeback reach the ledger as provider:adyen', async () => {
    const { token, res } = await order(CARD, 3000);
    const placed = res.json();
    await deliverAll();
    emu.adyen.dashboardRefund(placed.payment.provider_reference, 1000);
    const dispute = emu.adyen.openDispute(placed.payment.provider_reference, 2000);
    await deliverAll();
    const entries = (await read(token, `/api/orders/${placed.id}/payments`)).items;
    expect(entries.filter((e: { actor: string }) => e.actor === 'provider:adyen')).toEqual([
      expect.objectContaining({ kind: 'refund', status: 'succeeded', amount: 1000 }),
      expect.objectContaining({
        kind: 'dispute',
        status: 'open',
        amount: 2000,
        provider_reference: dispute.pspReference,
      }),
    ]);
    emu.adyen.settleDispute(dispute, 'won');
    await deliverAll();
    const disputes = (await read(token, `/api/orders/${placed.id}/payments`)).items.filter(
      (e: { kind: string }) => e.kind === 'dispute',
    );
    expect(disputes.map((d: { status: string }) => d.status)).toEqual(['won']);
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
  });

  it('a forged item refuses the whole batch: 400 invalid_signature, nothing in it applied', async () => {
    const { token, res } = await order(CARD, 3000);
    const placed = res.json();
    await deliverAll();
    const refund = emu.adyen.dashboardRefund(placed.payment.provider_reference, 1000);
    const forged: NotificationItem = { ...emu.adyen.sign(refund), amount: { value: 3000, currency: 'EUR' } };
    emu.adyen.delivery(); // the genuine one is not posted
    const batch = JSON.stringify({
      live: 'false',
      notificationItems: [{ NotificationRequestItem: emu.adyen.sign(refund) }, { NotificationRequestItem: forged }],
    });
    expectProblem(
      await post({ body: batch, headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_signature',
    );
    const unsigned = JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: refund }] });
    expectProblem(
      await post({ body: unsigned, headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_signature',
    );
    expectProblem(
      await post({ body: '{"live":"false"}', headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_signature',
    );
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({
      status: 'succeeded',
      amount_refunded: 0,
    });
    // The genuine batch, delivered again by Adyen, is applied.
    expect((await post(emu.adyen.batch([refund]))).body).toBe('[accepted]');
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({ amount_refunded: 1000 });
  });

  it('a cancel refunds through Adyen; the order is cancelled at once, the refund settles with its notification', async () => {
    const { sku, token, res } = await order();
    const placed = res.json();
    await deliverAll();
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${placed.id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json().order).toMatchObject({ status: 'cancelled', payment: { status: 'refund_pending' } });
    expect(await stockOf(t, sku)).toBe(5);
    await deliverAll();
    expect((await read(token, `/api/orders/${placed.id}`)).payment).toMatchObject({
      status: 'refunded',
      amount_refunded: 2500,
    });
  });

  it('a notification for a payment the service never made: [accepted], nothing recorded', async () => {
    const stray: NotificationItem = {
      amount: { value: 100, currency: 'EUR' },
      eventCode: 'REFUND',
      eventDate: new Date().toISOString(),
      merchantAccountCode: emu.adyen.merchantAccount,
      merchantReference: uid('other'),
      originalReference: 'ZZZZZZZZZZZZZZZZ',
      pspReference: 'YYYYYYYYYYYYYYYY',
      reason: '',
      success: 'true',
    };
    expect((await post(emu.adyen.batch([stray]))).body).toBe('[accepted]');
  });

  describe('payments the customer completes', () => {
    const RETURN = 'https://shop.example.com/checkout/return';
    async function awaiting(source: unknown) {
      const sku = uid('sku');
      await putProduct(t, sku, { price: 1800, stock: 5, currency: 'EUR' });
      const token = await t.token(uid('buyer'));
      const res = await createOrder(t, token, {
        items: [{ product_id: sku, quantity: 1 }],
        currency: 'EUR',
        payment: { provider: 'adyen', source, return_url: RETURN },
      });
      expect(res.statusCode, res.body).toBe(201);
      return { sku, token, order: res.json() };
    }
    const confirm = (token: string, orderId: string, redirectResult?: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/orders/${orderId}/payment/confirm`,
        headers: bearer(token),
        payload: redirectResult ? { redirect_result: redirectResult } : {},
      });

    it('iDEAL: awaiting_payment with the redirect; back with redirectResult, /payments/details places it; the AUTHORISATION after it changes nothing', async () => {
      const { token, order } = await awaiting({ type: 'ideal', issuer: '1121' });
      expect(order).toMatchObject({ status: 'awaiting_payment', payment: { status: 'requires_action' } });
      const psp = order.payment.provider_reference;
      expect(order.payment.next_action).toMatchObject({
        type: 'redirect',
        url: `${emu.adyen.url}/hpp/redirect/${psp}`,
        provider_data: { type: 'redirect', paymentMethodType: 'ideal' },
      });
      expect(JSON.parse(emu.adyen.requests.find((r) => r.path === '/v72/payments')!.body)).toMatchObject({
        returnUrl: RETURN,
        paymentMethod: { type: 'ideal' },
      });

      const redirectResult = emu.adyen.completeShopper(psp, 'authorised');
      const back = await confirm(token, order.id, redirectResult);
      expect(back.statusCode, back.body).toBe(200);
      expect(back.json()).toMatchObject({
        status: 'pending',
        payment: { status: 'succeeded', amount_captured: 1800, next_action: null },
      });
      expect((await confirm(token, order.id, redirectResult)).json().status).toBe('pending');
      await deliverAll();
      expect(await events(order.id, 'order.created')).toHaveLength(1);
      expect(emu.adyen.requests.filter((r) => r.path === '/v72/payments/details')).toHaveLength(1);
    });

    it('3-D Secure 2: the action object for the web components; the AUTHORISATION notification alone places the order', async () => {
      const { token, order } = await awaiting(CARD_3DS);
      expect(order.payment.next_action).toMatchObject({
        url: null,
        provider_data: { type: 'threeDS2', subtype: 'challenge', token: expect.any(String) },
      });
      emu.adyen.completeShopper(order.payment.provider_reference, 'authorised');
      await deliverAll();
      expect(await read(token, `/api/orders/${order.id}`)).toMatchObject({
        status: 'pending',
        payment: { status: 'succeeded' },
      });
      expect(await events(order.id, 'order.created')).toHaveLength(1);
    });

    it('refused at the bank: the order is cancelled (payment_failed), its stock back; a forged redirectResult changes nothing', async () => {
      const { sku, token, order } = await awaiting({ type: 'ideal' });
      const forged = await confirm(token, order.id, Buffer.from('{"psp":"NOPE"}').toString('base64url'));
      expect(forged.statusCode, forged.body).toBe(200);
      expect(forged.json().status).toBe('awaiting_payment');
      const redirectResult = emu.adyen.completeShopper(order.payment.provider_reference, 'refused');
      expect((await confirm(token, order.id, redirectResult)).json()).toMatchObject({
        status: 'cancelled',
        payment: { status: 'failed' },
      });
      expect(await stockOf(t, sku)).toBe(5);
      await deliverAll();
      expect(await events(order.id, 'order.created')).toHaveLength(0);
    });
  });
});
