import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../src/application/reconcile-payments.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { buildTestApp, buildTestAppPerDescribe, putProduct, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, orderCount, stockOf, uid } from '../helpers/http.js';
import {
  ageTransaction,
  FAST,
  paymentBody,
  providerView,
  REAL_PROVIDERS,
  reconcileNow,
  transaction,
  transactionsOf,
  type ProviderView,
} from '../helpers/payments.js';

/**
 * Provider faults seen through the API: a 5xx the SDK retries, a provider that
 * never answers, one that took the money and lost the answer, refunds that fail
 * or stay pending. Whatever happens, the emulator must end with the money
 * either behind exactly one order or refunded exactly once.
 */
describe.each(DATABASES)('payment faults over HTTP on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', sdk: FAST, resetAfterEach: true });

  const cancel = (token: string, id: string) =>
    t.app.inject({ method: 'POST', url: `/api/orders/${id}/cancel`, headers: bearer(token), payload: {} });

  async function shop(price: number, stock = 5) {
    const productId = uid('sku');
    await putProduct(t, productId, { price, stock });
    const user = uid('buyer');
    return { productId, user, token: await t.token(user) };
  }

  async function paidOrder(p: ProviderView, price: number) {
    const s = await shop(price);
    const res = await createOrder(
      t,
      s.token,
      paymentBody(p.id, p.source(price), [{ product_id: s.productId, quantity: 1 }]),
    );
    expect(res.statusCode, res.body).toBe(201);
    return { ...s, order: res.json() };
  }

  describe.each(REAL_PROVIDERS)('%s', (id) => {
    let p: ProviderView;
    beforeAll(() => {
      p = providerView(emu, id);
    });
    const chargeCalls = () => p.emulator.requests.filter((r) => p.chargePath.test(`${r.method} ${r.path}`)).length;

    it('a 500 then success inside one request → 201, and exactly one charge', async () => {
      const { productId, user, token } = await shop(1100);
      p.emulator.failNext(1, 500, p.chargePath);
      const res = await createOrder(
        t,
        token,
        paymentBody(id, p.source(1100), [{ product_id: productId, quantity: 1 }]),
      );
      expect(res.statusCode, res.body).toBe(201);
      expect(chargeCalls()).toBe(2); // the SDK did retry, with the same idempotency key
      expect(p.charges(res.json().payment.transaction_id)).toBe(1);
      expect(await orderCount(t, user)).toBe(1);
      expect(await stockOf(t, productId)).toBe(4);
    });

    it('the provider never answers → 502, no order, stock back; nothing was taken, so nothing is refunded', async () => {
      const { productId, user, token } = await shop(1200);
      p.emulator.hangNext(p.attemptsOnTimeout, p.chargePath);
      const res = await createOrder(
        t,
        token,
        paymentBody(id, p.source(2400), [{ product_id: productId, quantity: 2 }]),
      );
      expectProblem(res, 502, 'payment_provider_error');
      expect(await orderCount(t, user)).toBe(0);
      expect(await stockOf(t, productId)).toBe(5);
      const [tx] = await transactionsOf(t, user);
      expect(tx).toMatchObject({ status: 'processing', abandoned: true });
      expect(p.charges(tx!.id)).toBe(0);

      // The reconciler asks: the provider never heard of it; within the grace period it waits.
      await reconcileNow(t, tx!.id);
      expect((await transaction(t, tx!.id)).status).toBe('processing');
      // Past the grace period it is recorded as failed, and the stock is not returned twice.
      await ageTransaction(t, tx!.id, 11);
      await reconcileNow(t, tx!.id);
      expect(await transaction(t, tx!.id)).toMatchObject({ status: 'failed', provider_reference: null });
      expect(p.charges(tx!.id)).toBe(0);
      expect(await orderCount(t, user)).toBe(0);
      expect(await stockOf(t, productId)).toBe(5);
    });

    it('the provider took the money and the answer was lost → 502, then the reconciler refunds it once', async () => {
      const { productId, user, token } = await shop(1300);
      p.emulator.hangAfterNext(p.attemptsOnTimeout, p.chargePath);
      const res = await createOrder(
        t,
        token,
        paymentBody(id, p.source(1300), [{ product_id: productId, quantity: 1 }]),
      );
      expectProblem(res, 502, 'payment_provider_error');
      expect(await orderCount(t, user)).toBe(0);
      expect(await stockOf(t, productId)).toBe(5);
      const [tx] = await transactionsOf(t, user);
      expect(p.charges(tx!.id)).toBe(1); // the money moved

      await reconcileNow(t, tx!.id);
      const settled = await transaction(t, tx!.id);
      expect(settled).toMatchObject({
        status: 'refunded',
        amount_refunded: 1300,
        provider_reference: expect.any(String),
      });
      expect(p.charges(tx!.id)).toBe(1);
      expect(p.refunds(settled.provider_reference!)).toEqual([1300]);
      expect(await orderCount(t, user)).toBe(0);
      expect(await stockOf(t, productId)).toBe(5);

      // Reconciling again changes nothing.
      await reconcileNow(t, tx!.id);
      expect(p.refunds(settled.provider_reference!)).toEqual([1300]);
    });

    it('cancel while the refund endpoint fails → 200 refund_pending; the reconciler completes it; one refund', async () => {
      const { order, token } = await paidOrder(p, 1400);
      p.emulator.failNext(2, 500, p.refundPath); // the first attempt and the SDK's retry
      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order).toMatchObject({ status: 'cancelled', payment: { status: 'refund_pending' } });
      expect(p.refunds(order.payment.provider_reference)).toEqual([]);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refund_pending');

      await reconcileNow(t, order.payment.transaction_id);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toMatchObject({
        status: 'cancelled',
        payment: { status: 'refunded' },
      });
      expect(p.refunds(order.payment.provider_reference)).toEqual([1400]);
      expect(await transaction(t, order.payment.transaction_id)).toMatchObject({
        status: 'refunded',
        amount_refunded: 1400,
      });
    });

    it('the refund was made but its answer lost → refund_pending; the reconciler finds that refund instead of making another', async () => {
      const { order, token } = await paidOrder(p, 1500);
      p.emulator.hangAfterNext(p.attemptsOnTimeout, p.refundPath);
      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order.payment.status).toBe('refund_pending');
      expect(p.refunds(order.payment.provider_reference)).toEqual([1500]);

      await reconcileNow(t, order.payment.transaction_id);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refunded');
      expect(p.refunds(order.payment.provider_reference)).toEqual([1500]);
    });

    it('a refund the provider leaves pending → refund_pending until it settles, then refunded; one refund', async () => {
      const { order, token } = await paidOrder(p, 1600);
      p.refundStatus('pending');
      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order.payment.status).toBe('refund_pending');

      await reconcileNow(t, order.payment.transaction_id); // still pending at the provider
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refund_pending');
      p.settleRefunds();
      await reconcileNow(t, order.payment.transaction_id);
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment.status).toBe('refunded');
      expect(p.refunds(order.payment.provider_reference)).toEqual([1600]);
    });
  });

  // PayPal finds a charge by its approval (the source), which a retry reuses: the capture found
  // may be the retry's own, and must then not be refunded as the lost charge's.
  it('paypal: a 502 that captured nothing, then a retry of the same approval → one order; the reconciler leaves its capture alone', async () => {
    const p = providerView(emu, 'paypal');
    const { productId, user, token } = await shop(1900);
    const body = paymentBody('paypal', p.source(1900), [{ product_id: productId, quantity: 1 }]);
    p.emulator.hangNext(p.attemptsOnTimeout, p.chargePath);
    expectProblem(await createOrder(t, token, body), 502, 'payment_provider_error');
    const retry = await createOrder(t, token, body);
    expect(retry.statusCode, retry.body).toBe(201);
    const [lost] = await transactionsOf(t, user);
    await reconcileNow(t, lost!.id);
    expect(await transaction(t, lost!.id)).toMatchObject({ status: 'failed', decline_code: 'duplicate_payment' });
    expect(emu.paypal.captures.size).toBeGreaterThan(0);
    expect(p.refunds(retry.json().payment.provider_reference)).toEqual([]);
    expect((await getJson(t, token, `/api/orders/${retry.json().id}`)).json().payment.status).toBe('succeeded');
    expect(await orderCount(t, user)).toBe(1);
    expect(await stockOf(t, productId)).toBe(4);
  });

  it('paypal: a 502 that did capture, then a retry of the same approval → 402 order_already_captured; the capture is refunded once', async () => {
    const p = providerView(emu, 'paypal');
    const { productId, user, token } = await shop(2000);
    const body = paymentBody('paypal', p.source(2000), [{ product_id: productId, quantity: 1 }]);
    p.emulator.hangAfterNext(p.attemptsOnTimeout, p.chargePath);
    expectProblem(await createOrder(t, token, body), 502, 'payment_provider_error');
    expect(expectProblem(await createOrder(t, token, body), 402, 'payment_declined').decline_code).toBe(
      'order_already_captured',
    );
    const [lost, declined] = await transactionsOf(t, user);
    expect(declined!.status).toBe('failed');
    await reconcileNow(t, lost!.id);
    const refunded = await transaction(t, lost!.id);
    expect(refunded.status).toBe('refunded');
    expect(p.charges(lost!.id)).toBe(1);
    expect(p.refunds(refunded.provider_reference!)).toEqual([2000]);
    expect(await orderCount(t, user)).toBe(0);
    expect(await stockOf(t, productId)).toBe(5);
  });

  it('stripe: after a 502 whose charge went through, the client retries its Idempotency-Key → one order, the lost charge refunded', async () => {
    const p = providerView(emu, 'stripe');
    const { productId, user, token } = await shop(1700);
    const body = paymentBody('stripe', 'pm_card_visa', [{ product_id: productId, quantity: 1 }]);
    const key = uid('key');
    p.emulator.hangAfterNext(p.attemptsOnTimeout, p.chargePath);
    expectProblem(await createOrder(t, token, body, { 'idempotency-key': key }), 502, 'payment_provider_error');
    const retry = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();

    const [lost, kept] = await transactionsOf(t, user);
    expect(kept!.id).toBe(retry.json().payment.transaction_id);
    await reconcileNow(t, lost!.id);
    const refunded = await transaction(t, lost!.id);
    expect(refunded.status).toBe('refunded');
    expect(p.charges(lost!.id)).toBe(1);
    expect(p.refunds(refunded.provider_reference!)).toEqual([1700]);
    expect(p.charges(kept!.id)).toBe(1);
    expect(p.refunds(kept!.provider_reference!)).toEqual([]);
    expect(await orderCount(t, user)).toBe(1);
    expect(await stockOf(t, productId)).toBe(4);
    const replay = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(retry.json().id);
  });
});

/**
 * A lease shorter than the charge (RECONCILE_AFTER_MS=0 here; a provider slower than
 * the lease in real life): the reconciler settles the charge while its request
 * still waits on the provider. The request must then answer with that order,
 * never a 502 "no order" for an order that exists and was paid.
 */
describe.each(DATABASES)('a charge settled by the reconciler while its request waits, on %s', (kind) => {
  let emu: Emulators;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startEmulators();
    t = await buildTestApp(kind, { emulators: emu, sdk: FAST, env: { RECONCILE_AFTER_MS: '0' } });
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  it.each(REAL_PROVIDERS)(
    '%s: the request answers 201 with the order the reconciler made; one order, one charge, no refund',
    async (id) => {
      const p = providerView(emu, id);
      const productId = uid('sku');
      await putProduct(t, productId, { price: 1800, stock: 5 });
      const user = uid('buyer');
      const token = await t.token(user);
      const body = paymentBody(id, p.source(1800), [{ product_id: productId, quantity: 1 }]);
      const key = uid('key');
      p.emulator.hangAfterNext(p.attemptsOnTimeout, p.chargePath);
      const pending = createOrder(t, token, body, { 'idempotency-key': key });
      let txId: string | undefined;
      for (let i = 0; i < 100 && !txId; i++) {
        const [tx] = await transactionsOf(t, user);
        if (tx && p.charges(tx.id) === 1) txId = tx.id;
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(txId).toBeDefined();
      expect(await reconcilePayments(t.app.deps)).toBeGreaterThanOrEqual(1); // due at once: the lease is 0
      expect(await orderCount(t, user)).toBe(1);

      const res = await pending;
      expect(res.statusCode, res.body).toBe(201);
      const order = res.json();
      expect(order.payment).toMatchObject({ transaction_id: txId, provider: id, status: 'succeeded' });
      expect(await orderCount(t, user)).toBe(1);
      expect(p.charges(txId!)).toBe(1);
      expect(await transaction(t, txId!)).toMatchObject({ status: 'succeeded', abandoned: false });
      expect(p.refunds(order.payment.provider_reference)).toEqual([]);
      expect(await stockOf(t, productId)).toBe(4);
      const replay = await createOrder(t, token, body, { 'idempotency-key': key });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(order);
    },
  );
});
