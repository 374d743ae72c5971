import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, stockOf, uid } from '../helpers/http.js';
import { reconcileNow } from '../helpers/payments.js';

/**
 * Adyen payments whose outcome does not come by itself, and waiting payments whose order ends:
 * Adyen has no API to look a payment up, so the service stops them there — `POST /cancels` with our
 * own reference, the call Adyen documents for a payment whose outcome is unknown — and its
 * TECHNICAL_CANCEL notification ends the charge: failed if cancelled, else (the payment was captured
 * meanwhile) completed and its money given back. Never left `processing`.
 */
const CARD = { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' };
const PENDING = { ...CARD, encryptedCardNumber: 'test_pending' };
const RETURN = 'https://shop.example.com/checkout/return';

describe.each(DATABASES)('adyen: unanswered and cancelled payments on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });

  const deliverAll = async () => {
    const d = emu.adyen.delivery();
    if (!d) return;
    const res = await t.app.inject({ method: 'POST', url: '/api/webhooks/adyen', headers: d.headers, payload: d.body });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('[accepted]');
  };
  const charge = (id: string) =>
    t.db.selectFrom('payment_transactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const ledger = async (transactionId: string) =>
    (
      await t.db
        .selectFrom('payment_ledger')
        .select(['kind', 'status', 'amount'])
        .where('transaction_id', '=', transactionId)
        .orderBy('created_at')
        .execute()
    ).map((e) => [e.kind, e.status, Number(e.amount)]); // bigint: a string from pg, a number from PGlite
  const cancels = () => emu.adyen.requests.filter((r) => r.path === '/v72/cancels');
  /** The charge was made an hour and more ago, as far as the reconciler can tell. */
  const age = (id: string) =>
    sql`update payment_transactions set created_at = now() - interval '61 minutes' where id = ${id}`.execute(t.db);

  async function unanswered() {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 2500, stock: 5, currency: 'EUR' });
    const buyer = uid('buyer');
    const res = await createOrder(t, await t.token(buyer), {
      items: [{ product_id: sku, quantity: 1 }],
      currency: 'EUR',
      payment: { provider: 'adyen', source: PENDING },
    });
    expectProblem(res, 502, 'payment_provider_error');
    const { id } = await t.db
      .selectFrom('payment_transactions')
      .select('id')
      .where('customer_id', '=', buyer)
      .executeTakeFirstOrThrow();
    return { sku, id, psp: emu.adyen.paymentOf(id)!.pspReference };
  }

  it('Received and never decided: within the hour it is waited for; past it, cancelled by our reference, TECHNICAL_CANCEL fails it', async () => {
    const { sku, id, psp } = await unanswered();
    expect(await charge(id)).toMatchObject({ status: 'processing', abandoned: true });
    expect(await stockOf(t, sku)).toBe(5);

    await reconcileNow(t, id);
    expect(cancels()).toEqual([]);
    expect((await charge(id)).status).toBe('processing');

    await age(id);
    await reconcileNow(t, id);
    expect(cancels().length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(cancels()[0]!.body)).toMatchObject({
      merchantAccount: emu.adyen.merchantAccount,
      paymentReference: id,
      reference: `cancel-${id}`,
    });
    expect(new Set(cancels().map((c) => c.headers['idempotency-key']))).toEqual(new Set([`cancel-${id}`]));
    await deliverAll();
    expect(await charge(id)).toMatchObject({ status: 'failed', decline_code: 'payment_cancelled' });
    // Adyen decides after all: the payment was cancelled, nothing is taken.
    emu.adyen.decide(psp, 'authorised');
    await deliverAll();
    expect(emu.adyen.capturedAmount(psp)).toBe(0);
    expect(await ledger(id)).toEqual([
      ['authorization', 'failed', 2500],
      ['capture', 'failed', 2500],
    ]);
    expect(await stockOf(t, sku)).toBe(5);
  });

  it('captured at Adyen but its AUTHORISATION lost: the cancel fails, naming the payment; it completes and all of it is refunded', async () => {
    const { id, psp } = await unanswered();
    emu.adyen.decide(psp, 'authorised');
    emu.adyen.delivery(); // the AUTHORISATION never reaches us
    await age(id);
    await reconcileNow(t, id);
    expect(emu.adyen.undelivered()).toMatchObject([
      { eventCode: 'TECHNICAL_CANCEL', success: 'false', originalReference: psp },
    ]);
    await deliverAll(); // TECHNICAL_CANCEL: the charge completes, its money goes back
    await reconcileNow(t, id);
    await deliverAll(); // REFUND
    expect(await charge(id)).toMatchObject({ status: 'succeeded', provider_reference: psp });
    expect(await ledger(id)).toEqual([
      ['authorization', 'succeeded', 2500],
      ['capture', 'succeeded', 2500],
      ['refund', 'succeeded', 2500],
    ]);
    expect(emu.adyen.refundsOf(psp).map((n) => [n.amount.value, n.success])).toEqual([[2500, 'true']]);
  });

  describe('a waiting payment whose order is cancelled (cancelAction)', () => {
    async function awaiting() {
      const sku = uid('sku');
      await putProduct(t, sku, { price: 1800, stock: 5, currency: 'EUR' });
      const token = await t.token(uid('buyer'));
      const res = await createOrder(t, token, {
        items: [{ product_id: sku, quantity: 1 }],
        currency: 'EUR',
        payment: { provider: 'adyen', source: { type: 'ideal' }, return_url: RETURN },
      });
      expect(res.statusCode, res.body).toBe(201);
      return { sku, token, order: res.json() };
    }
    const cancel = (token: string, orderId: string) =>
      t.app.inject({ method: 'POST', url: `/api/orders/${orderId}/cancel`, headers: bearer(token), payload: {} });

    it('cancelled at Adyen by our reference; TECHNICAL_CANCEL fails the charge; the shopper finishing later takes nothing', async () => {
      const { sku, token, order } = await awaiting();
      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order).toMatchObject({ status: 'cancelled', payment: { status: 'processing' } });
      expect(await stockOf(t, sku)).toBe(5);
      expect(cancels().map((c) => JSON.parse(c.body).paymentReference)).toEqual([order.payment.transaction_id]);
      await deliverAll();
      expect(await charge(order.payment.transaction_id)).toMatchObject({
        status: 'failed',
        decline_code: 'payment_cancelled',
      });
      emu.adyen.completeShopper(order.payment.provider_reference, 'authorised');
      await deliverAll();
      expect(emu.adyen.capturedAmount(order.payment.provider_reference)).toBe(0);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toMatchObject({
        status: 'cancelled',
        payment: { status: 'failed', amount_captured: 0, amount_refunded: 0 },
      });
    });

    it('the shopper had paid just before the cancel: the cancel fails, the money is given back in full, once', async () => {
      const { token, order } = await awaiting();
      const psp = order.payment.provider_reference;
      emu.adyen.completeShopper(psp, 'authorised'); // its AUTHORISATION not delivered yet
      expect((await cancel(token, order.id)).statusCode).toBe(200);
      await deliverAll(); // AUTHORISATION, then TECHNICAL_CANCEL success=false
      await reconcileNow(t, order.payment.transaction_id);
      await deliverAll(); // REFUND
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toMatchObject({
        status: 'cancelled',
        payment: { status: 'refunded', amount_captured: 1800, amount_refunded: 1800 },
      });
      expect(emu.adyen.refundsOf(psp).map((n) => [n.amount.value, n.success])).toEqual([[1800, 'true']]);
    });
  });
});
