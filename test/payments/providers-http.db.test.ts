import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, orderCount, stockOf, uid } from '../helpers/http.js';
import {
  paymentBody,
  providerView,
  REAL_PROVIDERS,
  transaction,
  transactionsOf,
  type ProviderView,
} from '../helpers/payments.js';

/**
 * Orders paid through the three real providers' SDKs, end to end over HTTP:
 * the service's own registry builds the providers from the environment that
 * points them at the emulators, and every assertion about money is checked
 * against what the emulator says it moved.
 */
describe.each(DATABASES)('orders paid through real providers on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start' });

  const cancel = (token: string, id: string) =>
    t.app.inject({ method: 'POST', url: `/api/orders/${id}/cancel`, headers: bearer(token), payload: {} });

  /** A fresh product (price × quantity = total) and a user to buy it. */
  async function shop(price = 1250, stock: number | null = 5) {
    const productId = uid('sku');
    await putProduct(t, productId, { price, stock });
    const user = uid('buyer');
    return { productId, user, token: await t.token(user) };
  }

  describe.each(REAL_PROVIDERS)('%s', (id) => {
    let p: ProviderView;
    beforeAll(() => {
      p = providerView(emu, id);
    });

    it('create → 201 with the provider payment, GET agrees, one charge at the provider', async () => {
      const { productId, user, token } = await shop(1250, 5);
      const res = await createOrder(
        t,
        token,
        paymentBody(id, p.source(2500), [{ product_id: productId, quantity: 2 }]),
        {},
        '/api/orders',
      );
      expect(res.statusCode, res.body).toBe(201);
      const order = res.json();
      expect(res.headers.location).toBe(`/api/orders/${order.id}`);
      expect(order).toMatchObject({
        user_id: user,
        status: 'pending',
        total: 2500,
        currency: 'USD',
        payment: {
          provider: id,
          status: 'succeeded',
          amount: 2500,
          currency: 'USD',
          provider_reference: expect.any(String),
        },
      });
      expect(order.payment.provider_reference.length).toBeGreaterThan(0);
      expect(p.charges(order.payment.transaction_id)).toBe(1);
      expect(p.refunds(order.payment.provider_reference)).toEqual([]);
      expect(await stockOf(t, productId)).toBe(3);

      const got = await getJson(t, token, `/api/orders/${order.id}`);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(order);
      const tx = await transaction(t, order.payment.transaction_id);
      expect(tx).toMatchObject({
        status: 'succeeded',
        provider: id,
        provider_reference: order.payment.provider_reference,
        amount: 2500,
        amount_refunded: 0,
      });
    });

    it('cancel → 200 refunded; the provider shows exactly one refund of the full amount; stock returned', async () => {
      const { productId, token } = await shop(999, 4);
      const created = await createOrder(
        t,
        token,
        paymentBody(id, p.source(2997), [{ product_id: productId, quantity: 3 }]),
      );
      expect(created.statusCode, created.body).toBe(201);
      const order = created.json();
      expect(await stockOf(t, productId)).toBe(1);

      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        message: 'Order cancelled',
        order: { id: order.id, status: 'cancelled', payment: { status: 'refunded', amount: 2997 } },
      });
      expect(p.refunds(order.payment.provider_reference)).toEqual([2997]);
      expect(p.charges(order.payment.transaction_id)).toBe(1);
      expect(await stockOf(t, productId)).toBe(4);

      const got = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(got).toMatchObject({
        status: 'cancelled',
        payment: { status: 'refunded', provider_reference: order.payment.provider_reference },
      });
      const tx = await transaction(t, order.payment.transaction_id);
      expect(tx).toMatchObject({ status: 'refunded', amount: 2997, amount_refunded: 2997 });

      // Cancelling again refunds nothing more.
      expectProblem(await cancel(token, order.id), 409, 'order_not_cancellable');
      expect(p.refunds(order.payment.provider_reference)).toEqual([2997]);
    });

    it('a decline → 402 payment_declined with the decline code; no order, stock unchanged, the failed transaction kept', async () => {
      const { productId, user, token } = await shop(700, 3);
      const { source, declineCode } = p.declined(1400);
      const res = await createOrder(t, token, paymentBody(id, source, [{ product_id: productId, quantity: 2 }]));
      const problem = expectProblem(res, 402, 'payment_declined');
      expect(problem.decline_code).toBe(declineCode);
      expect(await orderCount(t, user)).toBe(0);
      expect(await stockOf(t, productId)).toBe(3);
      const txs = await transactionsOf(t, user);
      expect(txs).toHaveLength(1);
      expect(txs[0]).toMatchObject({
        status: 'failed',
        provider: id,
        decline_code: declineCode,
        amount: 1400,
        provider_reference: null,
      });
      expect(p.charges(txs[0]!.id)).toBe(0);
      expect((await getJson(t, token, '/api/orders')).json().items).toEqual([]);
    });

    it('10 racing cancels of one order → one 200, nine 409, one refund, never more than was captured', async () => {
      const { productId, token } = await shop(1500, 2);
      const created = await createOrder(
        t,
        token,
        paymentBody(id, p.source(1500), [{ product_id: productId, quantity: 1 }]),
      );
      expect(created.statusCode, created.body).toBe(201);
      const order = created.json();

      const answers = await Promise.all(Array.from({ length: 10 }, () => cancel(token, order.id)));
      const codes = answers.map((r) => r.statusCode).sort();
      expect(codes).toEqual([200, ...Array(9).fill(409)]);
      for (const r of answers.filter((a) => a.statusCode === 409)) expectProblem(r, 409, 'order_not_cancellable');
      expect(p.refunds(order.payment.provider_reference)).toEqual([1500]);
      const tx = await transaction(t, order.payment.transaction_id);
      expect(tx.status).toBe('refunded');
      expect(tx.amount_refunded).toBeLessThanOrEqual(tx.amount);
      expect(tx.amount_refunded).toBe(1500);
      expect(await stockOf(t, productId)).toBe(2);
    });
  });

  it.each(REAL_PROVIDERS)('%s: a zero-decimal currency (JPY) is charged and refunded in exact yen', async (id) => {
    const p = providerView(emu, id);
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, currency: 'JPY', stock: 3 });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(
      t,
      token,
      paymentBody(id, p.source(3000, 'JPY'), [{ product_id: productId, quantity: 2 }], { currency: 'JPY' }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const order = res.json();
    expect(order).toMatchObject({ total: 3000, currency: 'JPY', payment: { amount: 3000, currency: 'JPY' } });
    const charged = {
      stripe: () => {
        const pi = emu.stripe.intents.get(order.payment.provider_reference)!;
        return [pi.amount, pi.currency];
      },
      square: () => {
        const sp = emu.square.payments.get(order.payment.provider_reference)!;
        return [sp.amount_money.amount, sp.amount_money.currency];
      },
      paypal: () => {
        const c = emu.paypal.captures.get(order.payment.provider_reference)!.capture;
        return [c.amount.value, c.amount.currency_code];
      },
    }[id]();
    expect(charged).toEqual(id === 'stripe' ? [3000, 'jpy'] : id === 'paypal' ? ['3000', 'JPY'] : [3000, 'JPY']);
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(cancelled.json().order.payment.status).toBe('refunded');
    expect(p.refunds(order.payment.provider_reference)).toEqual([3000]);
  });

  it('paypal: a three-decimal currency (KWD) is checked, captured and refunded exactly', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1234, currency: 'KWD', stock: 3 });
    const token = await t.token(uid('buyer'));
    const source = emu.paypal.approvedOrder(1234, 'KWD');
    expect(emu.paypal.orders.get(source)!.purchase_units[0]!.amount.value).toBe('1.234');
    const res = await createOrder(
      t,
      token,
      paymentBody('paypal', source, [{ product_id: productId, quantity: 1 }], { currency: 'KWD' }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const ref = res.json().payment.provider_reference;
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${res.json().id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(cancelled.json().order.payment.status).toBe('refunded');
    expect(emu.paypal.refundsFor(ref).map((r) => r.amount)).toEqual([{ currency_code: 'KWD', value: '1.234' }]);
  });

  it('paypal: an approved order for another amount → 422 payment_amount_mismatch, nothing captured, no order', async () => {
    const { productId, user, token } = await shop(1999, 2);
    const pp = providerView(emu, 'paypal');
    for (const source of [
      emu.paypal.approvedOrder(1998, 'USD'),
      emu.paypal.approvedOrder(1999, 'EUR'),
      emu.paypal.approvedOrder(0, 'USD', { value: '19.991' }),
    ]) {
      const res = await createOrder(t, token, paymentBody('paypal', source, [{ product_id: productId, quantity: 1 }]));
      expectProblem(res, 422, 'payment_amount_mismatch');
      expect(emu.paypal.orders.get(source)?.status).toBe('APPROVED');
      expect([...emu.paypal.captures.values()].filter((c) => c.orderId === source)).toEqual([]);
    }
    expect(await orderCount(t, user)).toBe(0);
    expect(await stockOf(t, productId)).toBe(2);
    const txs = await transactionsOf(t, user);
    expect(txs.map((x) => [x.status, x.decline_code])).toEqual(Array(3).fill(['failed', 'payment_amount_mismatch']));
    for (const x of txs) expect(pp.charges(x.id)).toBe(0);
  });

  it('paypal: one approval cannot pay for two orders (the second is declined, captured once)', async () => {
    const { productId, user, token } = await shop(500, 5);
    const source = emu.paypal.approvedOrder(500, 'USD');
    const first = await createOrder(t, token, paymentBody('paypal', source, [{ product_id: productId, quantity: 1 }]));
    expect(first.statusCode, first.body).toBe(201);
    const second = await createOrder(t, token, paymentBody('paypal', source, [{ product_id: productId, quantity: 1 }]));
    expect(expectProblem(second, 402, 'payment_declined').decline_code).toBe('order_already_captured');
    expect([...emu.paypal.captures.values()].filter((c) => c.orderId === source)).toHaveLength(1);
    expect(await orderCount(t, user)).toBe(1);
    expect(await stockOf(t, productId)).toBe(4);
  });

  it('an Idempotency-Key retry of a paid order replays it and charges nothing more (stripe)', async () => {
    const { productId, token } = await shop(800, 5);
    const body = paymentBody('stripe', 'pm_card_visa', [{ product_id: productId, quantity: 1 }]);
    const first = await createOrder(t, token, body, { 'idempotency-key': uid('key') });
    expect(first.statusCode).toBe(201);
    const key = uid('key');
    const a = await createOrder(t, token, body, { 'idempotency-key': key });
    const b = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json()).toEqual(a.json());
    expect(emu.stripe.chargesFor(a.json().payment.transaction_id)).toBe(1);
    expect([...emu.stripe.intents.values()].filter((pi) => pi.metadata.customer_id === a.json().user_id)).toHaveLength(
      2,
    );
    expect(await stockOf(t, productId)).toBe(3);
  });
});
