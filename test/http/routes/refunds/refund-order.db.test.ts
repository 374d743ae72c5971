import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, buildTestAppPerDescribe, orderBody, putProduct } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import {
  bearer,
  createOrder,
  expectProblem,
  expectValidation,
  getJson,
  placedOrder,
  uid,
} from '../../../helpers/http.js';
import { providerView } from '../../../helpers/payments.js';

type Entry = { id: string; kind: string; amount: number; status: string; reason: string | null; actor: string };

describe.each(DATABASES)('POST /api/orders/{id}/refunds on %s', (kind) => {
  const { t } = buildTestAppPerDescribe(kind);
  let admin: string;
  beforeAll(async () => (admin = await t.adminToken()));

  const refund = (orderId: string, payload: unknown, headers: Record<string, string> = {}, token = admin) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${orderId}/refunds`,
      headers: { ...bearer(token), ...headers },
      payload: payload as object,
    });
  const ledger = async (orderId: string): Promise<Entry[]> =>
    (await getJson(t, admin, `/api/orders/${orderId}/payments`)).json().items;
  const refunds = async (orderId: string) => (await ledger(orderId)).filter((e) => e.kind === 'refund');
  const outbox = async (topic: string, orderId: string) =>
    (await t.db.selectFrom('outbox').select(['payload']).where('topic', '=', topic).execute())
      .map((m) => m.payload as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((p) => p.order_id === orderId);

  it('an admin refunds part of an order: 201 with the ledger entry, the payment partially refunded, announced and emailed once', async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 1500, quantity: 2 });
    const res = await refund(order.id, { amount: 500, reason: 'damaged box' });
    expect(res.statusCode, res.body).toBe(201);
    const entry = res.json();
    expect(entry).toEqual({
      id: expect.any(String),
      kind: 'refund',
      amount: 500,
      currency: 'USD',
      status: 'succeeded',
      provider_reference: expect.any(String),
      reason: 'damaged box',
      actor: 'admin',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await refunds(order.id)).toEqual([entry]);
    const seen = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(seen.payment).toMatchObject({ status: 'partially_refunded', amount_captured: 3000, amount_refunded: 500 });
    expect(seen.status).toBe('pending'); // a refund changes money, not the order's status
    const events = await outbox('payment.refunded', order.id);
    expect(events.map((e) => e.data.refund)).toEqual([{ id: entry.id, amount: 500, currency: 'USD' }]);
    const emails = await outbox('refund_issued', order.id);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      kind: 'refund_issued',
      to: order.email,
      extra: { refund: { id: entry.id, amount: 500, currency: 'USD' } },
    });
  });

  it('refunding everything left makes the payment refunded; one unit more is 422 refund_exceeds_captured', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000, quantity: 3 });
    expect((await refund(order.id, { amount: 1000 })).statusCode).toBe(201);
    expect(expectProblem(await refund(order.id, { amount: 2001 }), 422, 'refund_exceeds_captured').refundable).toBe(
      2000,
    );
    expect((await refund(order.id, { amount: 2000 })).statusCode).toBe(201);
    expectProblem(await refund(order.id, { amount: 1 }), 422, 'refund_exceeds_captured');
    expect((await getJson(t, admin, `/api/orders/${order.id}`)).json().payment).toMatchObject({
      status: 'refunded',
      amount_refunded: 3000,
    });
    expect((await refunds(order.id)).map((e) => e.amount)).toEqual([1000, 2000]);
  });

  it('any order status: a delivered order can be refunded, a cancelled one has nothing left', async () => {
    const delivered = await placedOrder(t, uid('owner'));
    for (const status of ['processing', 'shipped', 'delivered']) {
      await t.app.inject({
        method: 'POST',
        url: `/api/orders/${delivered.order.id}/status`,
        headers: bearer(admin),
        payload: { status },
      });
    }
    expect((await refund(delivered.order.id, { amount: 100 })).statusCode).toBe(201);
    const cancelled = await placedOrder(t, uid('owner'));
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: `/api/orders/${cancelled.order.id}/cancel`,
          headers: bearer(cancelled.token),
        })
      ).statusCode,
    ).toBe(200);
    expectProblem(await refund(cancelled.order.id, { amount: 1 }), 422, 'refund_exceeds_captured');
  });

  it('with an Idempotency-Key: a retry replays the first answer and refunds nothing more; another body is 422', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000, quantity: 2 });
    const key = { 'idempotency-key': `refund-${randomUUID()}` };
    const first = await refund(order.id, { amount: 300, reason: 'late' }, key);
    expect(first.statusCode).toBe(201);
    const again = await refund(order.id, { amount: 300, reason: 'late' }, key);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expectProblem(await refund(order.id, { amount: 400, reason: 'late' }, key), 422, 'idempotency_key_reused');
    const other = await placedOrder(t, uid('owner'));
    expectProblem(await refund(other.order.id, { amount: 300, reason: 'late' }, key), 422, 'idempotency_key_reused');
    expect((await refunds(order.id)).map((e) => e.amount)).toEqual([300]);
  });

  it('racing requests with one Idempotency-Key make one refund', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000, quantity: 2 });
    const key = { 'idempotency-key': `race-${randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 6 }, () => refund(order.id, { amount: 250 }, key)));
    for (const r of results) {
      if (r.statusCode === 409) expectProblem(r, 409, 'idempotency_in_progress');
      else expect(r.statusCode, r.body).toBe(201);
    }
    expect(results.some((r) => r.statusCode === 201)).toBe(true);
    expect((await refunds(order.id)).map((e) => e.amount)).toEqual([250]);
  });

  it('20 racing refunds never add up to more than was captured', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000, quantity: 3 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => refund(order.id, { amount: 200, reason: `goodwill ${i}` })),
    );
    const created = results.filter((r) => r.statusCode === 201);
    expect(created).toHaveLength(15);
    for (const r of results.filter((x) => x.statusCode !== 201)) expectProblem(r, 422, 'refund_exceeds_captured');
    const rows = await refunds(order.id);
    expect(rows.reduce((s, e) => s + e.amount, 0)).toBe(3000);
    expect(rows.every((e) => e.status === 'succeeded')).toBe(true);
    expect(await outbox('payment.refunded', order.id)).toHaveLength(15);
  });

  it('nothing captured yet (shipment capture: authorized only) → 409 payment_not_captured', async () => {
    const shipment = await buildTestApp(kind, { env: { PAYMENT_CAPTURE: 'shipment' } });
    try {
      const productId = uid('sku');
      await putProduct(shipment, productId, { price: 1000, stock: null });
      const token = await shipment.token(uid('owner'));
      const order = (await createOrder(shipment, token, orderBody([{ product_id: productId, quantity: 1 }]))).json();
      expect(order.payment.status).toBe('authorized');
      const res = await shipment.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/refunds`,
        headers: bearer(await shipment.adminToken()),
        payload: { amount: 100 },
      });
      expectProblem(res, 409, 'payment_not_captured');
    } finally {
      await shipment.close();
    }
  });

  it('customers cannot refund (403), unknown orders are 404, and nothing is written', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    expectProblem(await refund(order.id, { amount: 100 }, {}, token), 403, 'forbidden');
    expectProblem(await refund(randomUUID(), { amount: 100 }), 404, 'order_not_found');
    expectProblem(await refund('nope', { amount: 100 }), 404, 'order_not_found');
    expect(await refunds(order.id)).toEqual([]);
  });

  it.each([
    ['a zero amount', { amount: 0 }, '/amount'],
    ['a negative amount', { amount: -5 }, '/amount'],
    ['a fractional amount', { amount: 1.5 }, '/amount'],
    ['a string amount', { amount: '500' }, '/amount'],
    ['no amount', { reason: 'x' }, '/amount'],
    ['an amount beyond 2^53', { amount: 2 ** 53 }, '/amount'],
    ['an unknown field', { amount: 5, to: 'elsewhere' }, '/to'],
    ['a reason over 500 characters', { amount: 5, reason: 'x'.repeat(501) }, '/reason'],
  ])('%s → 422 validation_error', async (_what, payload, path) => {
    const { order } = await placedOrder(t, uid('owner'));
    expectValidation(await refund(order.id, payload), path);
    expect(await refunds(order.id)).toEqual([]);
  });

  it('the OpenAPI document describes the refund route and the cancel’s items', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const post = doc.paths['/api/orders/{order_id}/refunds'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '403', '404', '409', '422']));
    expect(JSON.stringify(doc.paths['/api/orders/{order_id}/cancel'].post.requestBody)).toContain('"items"');
  });

  it('a bad Idempotency-Key header → 422', async () => {
    const { order } = await placedOrder(t, uid('owner'));
    expectValidation(
      await refund(order.id, { amount: 5 }, { 'idempotency-key': 'é'.repeat(3) }),
      '/headers/idempotency-key',
    );
  });
});

describe.each(DATABASES)('admin refunds through Stripe on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start' });

  it('the provider records exactly the refunds the ledger does; a pending one is confirmed later by the reconciler', async () => {
    const p = providerView(emu, 'stripe');
    const { order } = await placedOrder(t, uid('buyer'), { price: 1000, stock: null, quantity: 2, provider: 'stripe' });
    const admin = await t.adminToken();
    const post = (amount: number) =>
      t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/refunds`,
        headers: bearer(admin),
        payload: { amount },
      });
    expect((await post(300)).json().status).toBe('succeeded');
    p.refundStatus('pending');
    const pending = await post(700);
    expect(pending.statusCode).toBe(201);
    expect(pending.json().status).toBe('pending');
    expectProblem(await post(1001), 422, 'refund_exceeds_captured'); // the pending 700 counts as taken
    expect(p.refunds(order.payment.provider_reference)).toEqual([300, 700]);
    p.refundStatus('succeeded');
    p.settleRefunds();
    await t.db
      .updateTable('payment_movements')
      .set({ next_attempt_at: new Date(Date.now() - 1000) })
      .where('id', '=', pending.json().id)
      .execute();
    const { reconcilePayments } = await import('../../../../src/application/reconcile-payments.js');
    while ((await reconcilePayments(t.app.deps)) > 0) {
      // drain
    }
    const entries = (await getJson(t, admin, `/api/orders/${order.id}/payments`))
      .json()
      .items.filter((e: Entry) => e.kind === 'refund');
    expect(entries.map((e: Entry) => [e.amount, e.status])).toEqual([
      [300, 'succeeded'],
      [700, 'succeeded'],
    ]);
    expect(p.refunds(order.payment.provider_reference)).toEqual([300, 700]);
  });
});
