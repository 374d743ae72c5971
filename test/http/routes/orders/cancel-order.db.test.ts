import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, expectProblem, expectValidation, getJson, placedOrder, stockOf, uid } from '../../../helpers/http.js';
import { buildTestApp } from '../../../helpers/app.js';

describe.each(DATABASES)('POST /api/orders/{id}/cancel on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  const cancel = (token: string, id: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/cancel`,
      headers: { ...bearer(token), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const advance = (id: string, status: string, extra: Record<string, unknown> = {}) =>
    t.adminToken().then((admin) =>
      t.app.inject({
        method: 'POST',
        url: `/api/orders/${id}/status`,
        headers: bearer(admin),
        payload: { status, ...extra },
      }),
    );

  it('the owner cancels a pending order: 200, refunded, stock returned, and GET agrees', async () => {
    const { order, token, productId } = await placedOrder(t, uid('owner'), { stock: 5, quantity: 2, price: 1500 });
    expect(await stockOf(t, productId)).toBe(3);
    const res = await cancel(token, order.id);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      message: 'Order cancelled',
      order: {
        ...order,
        status: 'cancelled',
        current_total: 0,
        items: order.items.map((i: { quantity: number }) => ({ ...i, quantity_cancelled: i.quantity })),
        payment: { ...order.payment, status: 'refunded', amount_refunded: 3000 },
        updated_at: expect.any(String),
      },
    });
    expect(Date.parse(body.order.updated_at)).toBeGreaterThanOrEqual(Date.parse(order.updated_at));
    expect(await stockOf(t, productId)).toBe(5);
    const after = await getJson(t, token, `/api/orders/${order.id}`);
    expect(after.json()).toMatchObject({ status: 'cancelled', payment: { status: 'refunded', amount: 3000 } });
    const ledger = await t.db
      .selectFrom('payment_ledger')
      .select(['kind', 'status', 'amount'])
      .where('transaction_id', '=', order.payment.transaction_id)
      .orderBy('seq')
      .execute();
    expect(ledger.map((e) => [e.kind, e.status, Number(e.amount)])).toEqual([
      ['authorization', 'succeeded', 3000],
      ['capture', 'succeeded', 3000],
      ['refund', 'succeeded', 3000],
    ]);
  });

  it('a second cancel → 409 order_not_cancellable, stock returned only once', async () => {
    const { order, token, productId } = await placedOrder(t, uid('owner'), { stock: 5, quantity: 2 });
    expect((await cancel(token, order.id)).statusCode).toBe(200);
    expectProblem(await cancel(token, order.id), 409, 'order_not_cancellable');
    expect(await stockOf(t, productId)).toBe(5);
  });

  it('with a reason (JSON body), recorded in the history note', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    const res = await cancel(token, order.id, { reason: 'changed my mind' });
    expect(res.statusCode).toBe(200);
    const history = (await getJson(t, token, `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({ status: 'cancelled', actor: order.user_id, note: 'changed my mind' });
  });

  it('with an empty JSON object, and with no body at all', async () => {
    const a = await placedOrder(t, uid('owner'));
    expect((await cancel(a.token, a.order.id, {})).statusCode).toBe(200);
    const b = await placedOrder(t, uid('owner'));
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${b.order.id}/cancel`,
      headers: bearer(b.token),
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('with Content-Type: application/json and an empty body (clients that always send the header)', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: { ...bearer(token), 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it.each([
    ['an unknown field', { reason: 'x', refund_to: 'elsewhere' }, '/refund_to'],
    ['a non-string reason', { reason: 42 }, '/reason'],
    ['a reason over 500 characters', { reason: 'x'.repeat(501) }, '/reason'],
  ])('%s → 422, and the order stays pending', async (_what, payload, path) => {
    const { order, token } = await placedOrder(t, uid('owner'));
    expectValidation(await cancel(token, order.id, payload), path);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().status).toBe('pending');
  });

  it('someone else → 403 forbidden, and nothing changes', async () => {
    const { order, token, productId } = await placedOrder(t, uid('owner'), { stock: 5 });
    expectProblem(await cancel(await t.token(uid('mallory')), order.id), 403, 'forbidden');
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toEqual(order);
    expect(await stockOf(t, productId)).toBe(4);
  });

  it('an admin may cancel anyone’s order; the history names the admin', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    const res = await cancel(await t.adminToken(), order.id, { reason: 'fraud' });
    expect(res.statusCode).toBe(200);
    const history = (await getJson(t, token, `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({ status: 'cancelled', actor: 'admin', note: 'fraud' });
  });

  it.each(['processing', 'shipped', 'delivered'])(
    'an order that is %s → 409 order_not_cancellable, no refund',
    async (target) => {
      const { order, token, productId } = await placedOrder(t, uid('owner'), { stock: 5 });
      for (const s of ['processing', 'shipped', 'delivered']) {
        expect((await advance(order.id, s)).statusCode).toBe(200);
        if (s === target) break;
      }
      expectProblem(await cancel(token, order.id), 409, 'order_not_cancellable');
      const after = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(after).toMatchObject({ status: target, payment: { status: 'succeeded' } });
      expect(await stockOf(t, productId)).toBe(4);
    },
  );

  it.each([
    ['an unknown order', randomUUID()],
    ['a non-uuid id', 'nope'],
  ])('%s → 404 order_not_found', async (_what, id) => {
    expectProblem(await cancel(await t.token(uid('u')), id), 404, 'order_not_found');
  });

  it('a text/plain body → 415', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    const res = await cancel(token, order.id, 'please cancel', { 'content-type': 'text/plain' });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('without a token → 401', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/api/orders/${randomUUID()}/cancel` });
    expectProblem(res, 401, 'invalid_token');
  });
});
