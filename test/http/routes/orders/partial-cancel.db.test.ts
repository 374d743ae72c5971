import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, expectProblem, expectValidation, getJson, stockOf, uid } from '../../../helpers/http.js';

type Entry = { id: string; kind: string; amount: number; status: string };

describe.each(DATABASES)('partial cancellation on %s', (kind) => {
  const { t } = buildTestAppPerDescribe(kind);
  let admin: string;
  beforeAll(async () => (admin = await t.adminToken()));

  const cancel = (token: string, id: string, payload?: unknown) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/cancel`,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const ledger = async (app: TestApp, orderId: string): Promise<Entry[]> =>
    (await getJson(app, await app.adminToken(), `/api/orders/${orderId}/payments`)).json().items;
  const outbox = async (app: TestApp, topic: string, orderId: string) =>
    (await app.db.selectFrom('outbox').select(['payload']).where('topic', '=', topic).execute())
      .map((m) => m.payload as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((p) => p.order_id === orderId);

  /** 3 × A at 1000 and 2 × B at 250, both stocked 10 before the order. */
  async function twoLineOrder(app: TestApp = t) {
    const a = uid('skuA');
    const b = uid('skuB');
    await putProduct(app, a, { price: 1000, stock: 10 });
    await putProduct(app, b, { price: 250, stock: 10 });
    const token = await app.token(uid('owner'));
    const res = await createOrder(
      app,
      token,
      orderBody([
        { product_id: a, quantity: 3 },
        { product_id: b, quantity: 2 },
      ]),
    );
    if (res.statusCode !== 201) throw new Error(`order: ${res.statusCode} ${res.body}`);
    return { token, order: res.json(), a, b };
  }

  it('cancels those units only: stock back, quantity_cancelled and current_total, their amount refunded, announced', async () => {
    const { token, order, a, b } = await twoLineOrder();
    expect(order.current_total).toBe(3500);
    const res = await cancel(token, order.id, { reason: 'one is enough', items: [{ product_id: a, quantity: 2 }] });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.message).toEqual(expect.any(String));
    expect(body.order).toMatchObject({
      status: 'pending',
      total: 3500,
      current_total: 1500,
      items: [
        { product_id: a, quantity: 3, quantity_cancelled: 2, quantity_returned: 0 },
        { product_id: b, quantity: 2, quantity_cancelled: 0, quantity_returned: 0 },
      ],
      payment: { status: 'partially_refunded', amount_captured: 3500, amount_refunded: 2000 },
    });
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toEqual(body.order);
    expect(await stockOf(t, a)).toBe(9);
    expect(await stockOf(t, b)).toBe(8);
    const refunds = (await ledger(t, order.id)).filter((e) => e.kind === 'refund');
    expect(refunds.map((e) => [e.amount, e.status])).toEqual([[2000, 'succeeded']]);
    const [event] = await outbox(t, 'order.items_cancelled', order.id);
    expect(event).toMatchObject({
      type: 'order.items_cancelled',
      data: { id: order.id, items: [{ product_id: a, quantity: 2 }], reason: 'one is enough' },
    });
    expect((await outbox(t, 'payment.refunded', order.id)).map((e) => e.data.refund.amount)).toEqual([2000]);
    expect(await outbox(t, 'order.cancelled', order.id)).toEqual([]);
    const history = (await getJson(t, token, `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({
      status: 'pending',
      actor: order.user_id,
      note: `cancelled 2 × ${a}: one is enough`,
    });
  });

  it('the last units’ cancel cancels the order and refunds the rest; a full cancel after a partial one returns only what is left', async () => {
    const first = await twoLineOrder();
    expect(
      (await cancel(first.token, first.order.id, { items: [{ product_id: first.a, quantity: 1 }] })).statusCode,
    ).toBe(200);
    const last = await cancel(first.token, first.order.id, {
      items: [
        { product_id: first.b, quantity: 2 },
        { product_id: first.a, quantity: 2 },
      ],
    });
    expect(last.statusCode, last.body).toBe(200);
    expect(last.json().order).toMatchObject({
      status: 'cancelled',
      current_total: 0,
      payment: { status: 'refunded', amount_refunded: 3500 },
    });
    expect(await stockOf(t, first.a)).toBe(10);
    expect(await stockOf(t, first.b)).toBe(10);
    expect((await ledger(t, first.order.id)).filter((e) => e.kind === 'refund').map((e) => e.amount)).toEqual([
      1000, 2500,
    ]);
    expect(await outbox(t, 'order.cancelled', first.order.id)).toHaveLength(1);
    expectProblem(
      await cancel(first.token, first.order.id, { items: [{ product_id: first.a, quantity: 1 }] }),
      409,
      'order_not_cancellable',
    );

    const second = await twoLineOrder();
    expect(
      (await cancel(second.token, second.order.id, { items: [{ product_id: second.b, quantity: 1 }] })).statusCode,
    ).toBe(200);
    const full = await cancel(second.token, second.order.id);
    expect(full.json().order).toMatchObject({
      status: 'cancelled',
      current_total: 0,
      payment: { status: 'refunded', amount_refunded: 3500 },
    });
    expect(full.json().order.items.map((i: { quantity_cancelled: number }) => i.quantity_cancelled)).toEqual([3, 2]);
    expect(await stockOf(t, second.a)).toBe(10);
    expect(await stockOf(t, second.b)).toBe(10);
    expect((await ledger(t, second.order.id)).filter((e) => e.kind === 'refund').map((e) => e.amount)).toEqual([
      250, 3250,
    ]);
  });

  it('422 invalid_items: a product not in the order, more units than remain, a repeated product — nothing changes', async () => {
    const { token, order, a, b } = await twoLineOrder();
    expect((await cancel(token, order.id, { items: [{ product_id: a, quantity: 2 }] })).statusCode).toBe(200);
    const cases: [unknown[], string][] = [
      [[{ product_id: 'sku_elsewhere', quantity: 1 }], '/items/0/product_id'],
      [
        [
          { product_id: b, quantity: 1 },
          { product_id: a, quantity: 2 },
        ],
        '/items/1/quantity',
      ],
      [
        [
          { product_id: b, quantity: 1 },
          { product_id: b, quantity: 1 },
        ],
        '/items/1/product_id',
      ],
    ];
    for (const [items, path] of cases) {
      const problem = expectProblem(await cancel(token, order.id, { items }), 422, 'invalid_items');
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
    const after = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(after).toMatchObject({ status: 'pending', current_total: 1500 });
    expect(await stockOf(t, a)).toBe(9);
    expect(await stockOf(t, b)).toBe(8);
  });

  it.each([
    ['no items', { items: [] }, '/items'],
    ['a zero quantity', { items: [{ product_id: 'a', quantity: 0 }] }, '/items/0/quantity'],
    ['a fractional quantity', { items: [{ product_id: 'a', quantity: 0.5 }] }, '/items/0/quantity'],
    ['a string quantity', { items: [{ product_id: 'a', quantity: '1' }] }, '/items/0/quantity'],
    ['an unknown item field', { items: [{ product_id: 'a', quantity: 1, unit_price: 5 }] }, '/items/0/unit_price'],
    ['a missing product id', { items: [{ quantity: 1 }] }, '/items/0/product_id'],
  ])('%s → 422 validation_error, the order untouched', async (_what, payload, path) => {
    const { token, order } = await twoLineOrder();
    expectValidation(await cancel(token, order.id, payload), path);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toEqual(order);
  });

  it('the same rules as a full cancel: someone else 403, only while pending (409), admins may', async () => {
    const { token, order, a } = await twoLineOrder();
    expectProblem(
      await cancel(await t.token(uid('mallory')), order.id, { items: [{ product_id: a, quantity: 1 }] }),
      403,
      'forbidden',
    );
    expect((await cancel(admin, order.id, { items: [{ product_id: a, quantity: 1 }] })).statusCode).toBe(200);
    await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/status`,
      headers: bearer(admin),
      payload: { status: 'processing' },
    });
    expectProblem(
      await cancel(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
      409,
      'order_not_cancellable',
    );
    expectProblem(
      await cancel(token, randomUUID(), { items: [{ product_id: a, quantity: 1 }] }),
      404,
      'order_not_found',
    );
  });

  it('racing partial cancels of the same units: each unit cancelled, restocked and refunded at most once', async () => {
    const { token, order, a } = await twoLineOrder();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => cancel(token, order.id, { items: [{ product_id: a, quantity: 1 }] })),
    );
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.statusCode !== 200)) expectProblem(r, 422, 'invalid_items');
    const after = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(after).toMatchObject({ status: 'pending', current_total: 500, payment: { amount_refunded: 3000 } });
    expect(await stockOf(t, a)).toBe(10);
    expect((await ledger(t, order.id)).filter((e) => e.kind === 'refund').map((e) => e.amount)).toEqual([
      1000, 1000, 1000,
    ]);
  });

  it('racing cancels of every remaining unit: one cancels the order, the rest are refused, one refund of the rest', async () => {
    const { token, order, a, b } = await twoLineOrder();
    const all = {
      items: [
        { product_id: a, quantity: 3 },
        { product_id: b, quantity: 2 },
      ],
    };
    const results = await Promise.all([
      cancel(token, order.id, all),
      cancel(token, order.id, all),
      cancel(token, order.id),
      cancel(token, order.id, all),
    ]);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.statusCode !== 200)) expect([409, 422]).toContain(r.statusCode);
    expect((await ledger(t, order.id)).filter((e) => e.kind === 'refund').map((e) => e.amount)).toEqual([3500]);
    expect(await stockOf(t, a)).toBe(10);
    expect(await stockOf(t, b)).toBe(10);
  });

  it('a partial cancel racing a full cancel: every unit restocked and refunded exactly once', async () => {
    for (let round = 0; round < 3; round++) {
      const { token, order, a, b } = await twoLineOrder();
      const results = await Promise.all([
        cancel(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
        cancel(token, order.id),
        cancel(token, order.id, { items: [{ product_id: b, quantity: 1 }] }),
      ]);
      expect(results.some((r) => r.statusCode === 200)).toBe(true);
      expect(await stockOf(t, a)).toBe(10);
      expect(await stockOf(t, b)).toBe(10);
      const after = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(after).toMatchObject({ status: 'cancelled', current_total: 0, payment: { amount_refunded: 3500 } });
      expect((await ledger(t, order.id)).filter((e) => e.kind === 'refund').reduce((n, e) => n + e.amount, 0)).toBe(
        3500,
      );
    }
  });

  describe('with PAYMENT_CAPTURE=shipment', () => {
    const { t: app } = buildTestAppPerDescribe(kind, { env: { PAYMENT_CAPTURE: 'shipment' } });

    /** One unit of A cancelled from a fresh two-line order: nothing refunded, since nothing was captured. */
    async function cancelOneUncaptured() {
      const { token, order, a } = await twoLineOrder(app);
      const res = await app.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/cancel`,
        headers: bearer(token),
        payload: { items: [{ product_id: a, quantity: 1 }] },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order).toMatchObject({
        current_total: 2500,
        payment: { status: 'authorized', amount_captured: 0, amount_refunded: 0 },
      });
      expect((await ledger(app, order.id)).filter((e) => e.kind === 'refund')).toEqual([]);
      return { token, order, a };
    }

    it('shipment capture: cancelled units are not refunded (nothing was captured), current_total drops', async () => {
      const { a } = await cancelOneUncaptured();
      expect(await stockOf(app, a)).toBe(8);
    });

    it('shipment capture: the cancelled units are never captured — the move to shipped captures current_total', async () => {
      const { token, order } = await cancelOneUncaptured();
      const adminToken = await app.adminToken();
      for (const status of ['processing', 'shipped']) {
        const moved = await app.app.inject({
          method: 'POST',
          url: `/api/orders/${order.id}/status`,
          headers: bearer(adminToken),
          payload: { status },
        });
        expect(moved.statusCode, moved.body).toBe(200);
      }
      expect((await getJson(app, token, `/api/orders/${order.id}`)).json().payment).toMatchObject({
        amount_captured: 2500,
        amount_refunded: 0,
      });
    });
  });
});
