import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, buildTestAppPerDescribe, orderBody, putProduct } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, expectProblem, expectValidation, getJson, stockOf, uid } from '../../../helpers/http.js';

const DAY = 24 * 3600_000;

describe.each(DATABASES)('returns on %s', (kind) => {
  const { t } = buildTestAppPerDescribe(kind);
  let admin: string;
  beforeAll(async () => (admin = await t.adminToken()));

  const post = (token: string, url: string, payload?: unknown) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const requestReturn = (token: string, orderId: string, payload: unknown) =>
    post(token, `/api/orders/${orderId}/returns`, payload);
  const receive = (orderId: string, returnId: string, payload?: unknown) =>
    post(admin, `/api/orders/${orderId}/returns/${returnId}/receive`, payload);
  const reject = (orderId: string, returnId: string, payload?: unknown) =>
    post(admin, `/api/orders/${orderId}/returns/${returnId}/reject`, payload);
  const advance = async (id: string, ...statuses: string[]) => {
    for (const status of statuses) {
      const res = await post(admin, `/api/orders/${id}/status`, { status });
      if (res.statusCode !== 200) throw new Error(`advance ${status}: ${res.statusCode} ${res.body}`);
    }
  };

  /** A delivered order of two products: 3 × A at 1000 and 2 × B at 250, both stocked 10. */
  async function deliveredOrder(opts: { deliver?: boolean } = {}) {
    const owner = uid('owner');
    const a = uid('skuA');
    const b = uid('skuB');
    await putProduct(t, a, { price: 1000, stock: 10 });
    await putProduct(t, b, { price: 250, stock: 10 });
    const token = await t.token(owner);
    const res = await createOrder(
      t,
      token,
      orderBody([
        { product_id: a, quantity: 3 },
        { product_id: b, quantity: 2 },
      ]),
    );
    if (res.statusCode !== 201) throw new Error(`order: ${res.statusCode} ${res.body}`);
    const order = res.json();
    if (opts.deliver !== false) await advance(order.id, 'processing', 'shipped', 'delivered');
    return { owner, token, order, a, b };
  }

  const returnedUnits = async (orderId: string) =>
    Object.fromEntries(
      (
        await t.db
          .selectFrom('order_items')
          .select(['product_id', 'quantity_returned'])
          .where('order_id', '=', orderId)
          .execute()
      ).map((r) => [r.product_id, r.quantity_returned]),
    );
  const outbox = async (topic: string, orderId: string) =>
    (await t.db.selectFrom('outbox').select(['topic', 'kind', 'payload']).where('topic', '=', topic).execute()).filter(
      (m) => (m.payload as { order_id?: string }).order_id === orderId,
    );

  it('the owner asks for a return: 201, priced from the order, listed, announced and emailed in the same change', async () => {
    const { token, order, a, b } = await deliveredOrder();
    const res = await requestReturn(token, order.id, {
      items: [
        { product_id: a, quantity: 2 },
        { product_id: b, quantity: 1 },
      ],
      reason: 'too small',
    });
    expect(res.statusCode, res.body).toBe(201);
    const ret = res.json();
    expect(ret).toEqual({
      id: expect.any(String),
      order_id: order.id,
      status: 'requested',
      items: [
        { product_id: a, quantity: 2 },
        { product_id: b, quantity: 1 },
      ],
      refund_amount: 2250,
      reason: 'too small',
      note: null,
      created_at: expect.any(String),
      updated_at: ret.created_at,
    });
    expect(res.headers.location).toBe(`/api/orders/${order.id}/returns/${ret.id}`);
    for (const reader of [token, admin]) {
      const list = await getJson(t, reader, `/api/orders/${order.id}/returns`);
      expect(list.statusCode).toBe(200);
      expect(list.json()).toEqual({ items: [ret] });
    }
    const [event] = await outbox('order.return_requested', order.id);
    expect(event?.kind).toBe('event');
    expect(event?.payload).toMatchObject({
      type: 'order.return_requested',
      order_id: order.id,
      data: { id: order.id, status: 'delivered', return: ret },
    });
    const [email] = await outbox('return_requested', order.id);
    expect(email?.payload).toMatchObject({ kind: 'return_requested', to: order.email, extra: { return: ret } });
  });

  it('an admin may ask on the customer’s behalf; someone else gets 403 and nothing is written', async () => {
    const { order, a } = await deliveredOrder();
    expectProblem(
      await requestReturn(await t.token(uid('mallory')), order.id, { items: [{ product_id: a, quantity: 1 }] }),
      403,
      'forbidden',
    );
    expectProblem(await getJson(t, await t.token(uid('mallory')), `/api/orders/${order.id}/returns`), 403, 'forbidden');
    expect((await getJson(t, admin, `/api/orders/${order.id}/returns`)).json().items).toEqual([]);
    expect((await requestReturn(admin, order.id, { items: [{ product_id: a, quantity: 1 }] })).statusCode).toBe(201);
  });

  it.each([
    ['an unknown order', randomUUID()],
    ['a non-uuid order id', 'nope'],
  ])('%s → 404 order_not_found on every route', async (_what, id) => {
    const token = await t.token(uid('u'));
    expectProblem(
      await requestReturn(token, id, { items: [{ product_id: 'x', quantity: 1 }] }),
      404,
      'order_not_found',
    );
    expectProblem(await getJson(t, token, `/api/orders/${id}/returns`), 404, 'order_not_found');
    expectProblem(await receive(id, randomUUID()), 404, 'order_not_found');
    expectProblem(await reject(id, randomUUID()), 404, 'order_not_found');
  });

  it('an unknown or malformed return id → 404 not_found', async () => {
    const { order } = await deliveredOrder();
    for (const rid of [randomUUID(), 'not-a-uuid']) {
      expectProblem(await receive(order.id, rid), 404, 'not_found');
      expectProblem(await reject(order.id, rid), 404, 'not_found');
    }
  });

  it('a return of another order is not found under this one', async () => {
    const first = await deliveredOrder();
    const second = await deliveredOrder();
    const ret = (
      await requestReturn(first.token, first.order.id, { items: [{ product_id: first.a, quantity: 1 }] })
    ).json();
    expectProblem(await receive(second.order.id, ret.id), 404, 'not_found');
  });

  it('receive and reject are admin routes: 403 for the owner, and the return stays requested', async () => {
    const { token, order, a } = await deliveredOrder();
    const ret = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    expectProblem(await post(token, `/api/orders/${order.id}/returns/${ret.id}/receive`), 403, 'forbidden');
    expectProblem(await post(token, `/api/orders/${order.id}/returns/${ret.id}/reject`), 403, 'forbidden');
    expect((await getJson(t, token, `/api/orders/${order.id}/returns`)).json().items[0].status).toBe('requested');
  });

  it.each(['pending', 'processing', 'shipped'])('an order that is %s → 409 order_not_returnable', async (status) => {
    const { token, order, a } = await deliveredOrder({ deliver: false });
    const path = ['processing', 'shipped'];
    await advance(order.id, ...path.slice(0, path.indexOf(status) + 1));
    expectProblem(
      await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
      409,
      'order_not_returnable',
    );
  });

  it('a cancelled order → 409 order_not_returnable', async () => {
    const { token, order, a } = await deliveredOrder({ deliver: false });
    expect((await post(token, `/api/orders/${order.id}/cancel`)).statusCode).toBe(200);
    expectProblem(
      await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
      409,
      'order_not_returnable',
    );
  });

  it('the window counts from the delivery in the history: inside it 201, past RETURN_WINDOW_DAYS 409', async () => {
    const { token, order, a } = await deliveredOrder();
    const later = (days: number) => buildTestApp(t, { app: { clock: () => new Date(Date.now() + days * DAY) } });
    const inside = await later(29);
    const outside = await later(31);
    const noWindow = await buildTestApp(t, { env: { RETURN_WINDOW_DAYS: '0' } });
    try {
      const body = { items: [{ product_id: a, quantity: 1 }] };
      const ask = (other: typeof inside) =>
        other.app.inject({
          method: 'POST',
          url: `/api/orders/${order.id}/returns`,
          headers: bearer(token),
          payload: body,
        });
      expectProblem((await ask(outside)) as never, 409, 'order_not_returnable');
      expectProblem((await ask(noWindow)) as never, 409, 'order_not_returnable');
      expect((await ask(inside)).statusCode).toBe(201);
    } finally {
      await Promise.all([inside.close(), outside.close(), noWindow.close()]);
    }
  });

  it('422 invalid_items: more than delivered, a product not in the order, a repeated product — each at its path', async () => {
    const { token, order, a, b } = await deliveredOrder();
    const cases: [unknown[], string][] = [
      [[{ product_id: a, quantity: 4 }], '/items/0/quantity'],
      [
        [
          { product_id: b, quantity: 1 },
          { product_id: 'sku_elsewhere', quantity: 1 },
        ],
        '/items/1/product_id',
      ],
      [
        [
          { product_id: a, quantity: 1 },
          { product_id: a, quantity: 1 },
        ],
        '/items/1/product_id',
      ],
    ];
    for (const [items, path] of cases) {
      const body = expectProblem(await requestReturn(token, order.id, { items }), 422, 'invalid_items');
      expect(body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
    expect((await getJson(t, token, `/api/orders/${order.id}/returns`)).json().items).toEqual([]);
  });

  it('units in a requested or received return cannot be asked for again; a rejected return frees them', async () => {
    const { token, order, a } = await deliveredOrder();
    const first = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 2 }] })).json();
    expectProblem(
      await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 2 }] }),
      422,
      'invalid_items',
    );
    expect((await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).statusCode).toBe(201);
    expectProblem(
      await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
      422,
      'invalid_items',
    );
    expect((await reject(order.id, first.id, { note: 'worn' })).json()).toMatchObject({
      status: 'rejected',
      note: 'worn',
    });
    expect((await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 2 }] })).statusCode).toBe(201);
    expectProblem(
      await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] }),
      422,
      'invalid_items',
    );
  });

  it.each([
    ['no items', { items: [] }, '/items'],
    ['a missing items', { reason: 'x' }, '/items'],
    ['a zero quantity', { items: [{ product_id: 'a', quantity: 0 }] }, '/items/0/quantity'],
    ['a fractional quantity', { items: [{ product_id: 'a', quantity: 1.5 }] }, '/items/0/quantity'],
    ['a string quantity', { items: [{ product_id: 'a', quantity: '1' }] }, '/items/0/quantity'],
    ['a quantity over 1000', { items: [{ product_id: 'a', quantity: 1001 }] }, '/items/0/quantity'],
    ['an unknown field', { items: [{ product_id: 'a', quantity: 1 }], refund_to: 'me' }, '/refund_to'],
    ['an unknown item field', { items: [{ product_id: 'a', quantity: 1, price: 1 }] }, '/items/0/price'],
    ['a reason over 500 characters', { items: [{ product_id: 'a', quantity: 1 }], reason: 'x'.repeat(501) }, '/reason'],
  ])('request with %s → 422 validation_error', async (_what, payload, path) => {
    const { token, order } = await deliveredOrder();
    expectValidation(await requestReturn(token, order.id, payload), path);
  });

  it.each([
    ['receive', { restock: 'yes' }, '/restock'],
    ['receive', { note: 1 }, '/note'],
    ['receive', { restock: true, extra: 1 }, '/extra'],
    ['reject', { restock: false }, '/restock'],
  ])('%s with a bad body → 422 validation_error, the return unchanged', async (action, payload, path) => {
    const { token, order, a } = await deliveredOrder();
    const ret = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    expectValidation(await post(admin, `/api/orders/${order.id}/returns/${ret.id}/${action}`, payload), path);
    expect((await getJson(t, token, `/api/orders/${order.id}/returns`)).json().items[0].status).toBe('requested');
  });

  it('receive: the units count as returned, stock comes back, and it is announced', async () => {
    const { token, order, a, b } = await deliveredOrder();
    const ret = (
      await requestReturn(token, order.id, {
        items: [
          { product_id: a, quantity: 2 },
          { product_id: b, quantity: 1 },
        ],
      })
    ).json();
    expect(await stockOf(t, a)).toBe(7);
    const res = await receive(order.id, ret.id, { note: 'all fine' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ...ret, status: 'received', note: 'all fine', updated_at: expect.any(String) });
    expect(await stockOf(t, a)).toBe(9);
    expect(await stockOf(t, b)).toBe(9);
    expect(await returnedUnits(order.id)).toEqual({ [a]: 2, [b]: 1 });
    const [event] = await outbox('order.return_received', order.id);
    expect(event?.payload).toMatchObject({ data: { id: order.id, return: { id: ret.id, status: 'received' } } });
    expect((await getJson(t, token, `/api/orders/${order.id}/returns`)).json().items).toEqual([res.json()]);
    // the refund of refund_amount, through the ledger, confirmed by the provider and announced once
    const seen = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(seen).toMatchObject({
      status: 'delivered',
      total: 3500,
      current_total: 1250,
      payment: { status: 'partially_refunded', amount_refunded: 2250 },
    });
    expect(seen.items.map((i: { quantity_returned: number }) => i.quantity_returned)).toEqual([2, 1]);
    const refunds = (await getJson(t, token, `/api/orders/${order.id}/payments`))
      .json()
      .items.filter((e: { kind: string }) => e.kind === 'refund');
    expect(refunds).toMatchObject([{ amount: 2250, status: 'succeeded', actor: 'admin', reason: `return ${ret.id}` }]);
    const refunded = await outbox('payment.refunded', order.id);
    expect(refunded.map((m) => (m.payload as { data: { refund: unknown } }).data.refund)).toEqual([
      { id: refunds[0].id, amount: 2250, currency: 'USD' },
    ]);
    expect(await outbox('refund_issued', order.id)).toHaveLength(1);
    const history = (await getJson(t, token, `/api/orders/${order.id}/history`)).json().items;
    expect(history.slice(-2)).toMatchObject([
      { status: 'delivered', actor: order.user_id, note: `return requested: 2 × ${a}, 1 × ${b}` },
      { status: 'delivered', actor: 'admin', note: `return received: 2 × ${a}, 1 × ${b}` },
    ]);
  });

  it('receive after goodwill refunds refunds what is left of the payment, never more', async () => {
    const { token, order, a } = await deliveredOrder();
    const ret = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 3 }] })).json();
    expect((await post(admin, `/api/orders/${order.id}/refunds`, { amount: 1000, reason: 'late' })).statusCode).toBe(
      201,
    );
    expect((await receive(order.id, ret.id)).statusCode).toBe(200);
    const refunds = (await getJson(t, admin, `/api/orders/${order.id}/payments`))
      .json()
      .items.filter((e: { kind: string }) => e.kind === 'refund');
    expect(refunds.map((e: { amount: number }) => e.amount)).toEqual([1000, 2500]);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment).toMatchObject({
      status: 'refunded',
      amount_refunded: 3500,
    });
  });

  it('receive with no body restocks; with restock false the stock stays', async () => {
    const { token, order, a, b } = await deliveredOrder();
    const one = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    const two = (await requestReturn(token, order.id, { items: [{ product_id: b, quantity: 2 }] })).json();
    expect((await receive(order.id, one.id)).statusCode).toBe(200);
    expect((await receive(order.id, two.id, { restock: false })).statusCode).toBe(200);
    expect(await stockOf(t, a)).toBe(8);
    expect(await stockOf(t, b)).toBe(8);
    expect(await returnedUnits(order.id)).toEqual({ [a]: 1, [b]: 2 });
  });

  it('reject: 200 rejected, nothing returned or restocked, announced', async () => {
    const { token, order, a } = await deliveredOrder();
    const ret = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    const res = await reject(order.id, ret.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: ret.id, status: 'rejected', note: null });
    expect(await stockOf(t, a)).toBe(7);
    expect(Object.values(await returnedUnits(order.id))).toEqual([0, 0]);
    expect(await outbox('order.return_rejected', order.id)).toHaveLength(1);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().payment).toMatchObject({
      status: 'succeeded',
      amount_refunded: 0,
    });
  });

  it('any other move is 409 invalid_transition, and changes nothing', async () => {
    const { token, order, a } = await deliveredOrder();
    const received = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    const rejected = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })).json();
    expect((await receive(order.id, received.id)).statusCode).toBe(200);
    expect((await reject(order.id, rejected.id)).statusCode).toBe(200);
    expectProblem(await receive(order.id, received.id), 409, 'invalid_transition');
    expectProblem(await reject(order.id, received.id), 409, 'invalid_transition');
    expectProblem(await receive(order.id, rejected.id), 409, 'invalid_transition');
    expectProblem(await reject(order.id, rejected.id), 409, 'invalid_transition');
    expect(await stockOf(t, a)).toBe(8);
    expect((await returnedUnits(order.id))[a]).toBe(1);
  });

  it('racing receives of one return: exactly one 200, the units returned and restocked once', async () => {
    const { token, order, a } = await deliveredOrder();
    const ret = (await requestReturn(token, order.id, { items: [{ product_id: a, quantity: 3 }] })).json();
    const results = await Promise.all(Array.from({ length: 8 }, () => receive(order.id, ret.id)));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, ...Array(7).fill(409)]);
    for (const r of results.filter((x) => x.statusCode === 409)) expectProblem(r, 409, 'invalid_transition');
    expect(await stockOf(t, a)).toBe(10);
    expect((await returnedUnits(order.id))[a]).toBe(3);
    expect(await outbox('order.return_received', order.id)).toHaveLength(1);
    const refunds = (await getJson(t, admin, `/api/orders/${order.id}/payments`))
      .json()
      .items.filter((e: { kind: string }) => e.kind === 'refund');
    expect(refunds.map((e: { amount: number }) => e.amount)).toEqual([3000]);
  });

  it('racing requests never ask back more units than were delivered', async () => {
    const { token, order, a } = await deliveredOrder();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => requestReturn(token, order.id, { items: [{ product_id: a, quantity: 1 }] })),
    );
    const created = results.filter((r) => r.statusCode === 201);
    expect(created).toHaveLength(3);
    for (const r of results.filter((x) => x.statusCode !== 201)) expectProblem(r, 422, 'invalid_items');
    const listed = (await getJson(t, token, `/api/orders/${order.id}/returns`)).json().items;
    expect(listed.reduce((n: number, r: { items: { quantity: number }[] }) => n + r.items[0]!.quantity, 0)).toBe(3);
    // Racing receives of all of them: each unit back once.
    await Promise.all([...listed, ...listed].map((r: { id: string }) => receive(order.id, r.id)));
    expect((await returnedUnits(order.id))[a]).toBe(3);
    expect(await stockOf(t, a)).toBe(10);
  });

  it('without a token → 401', async () => {
    expectProblem(
      await t.app.inject({ method: 'GET', url: `/api/orders/${randomUUID()}/returns` }),
      401,
      'invalid_token',
    );
    expectProblem(
      await t.app.inject({ method: 'POST', url: `/api/orders/${randomUUID()}/returns`, payload: {} }),
      401,
      'invalid_token',
    );
  });

  it('the OpenAPI document describes every returns route', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths['/api/orders/{order_id}/returns'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(doc.paths['/api/orders/{order_id}/returns/{return_id}/receive'].post.responses).toHaveProperty('200');
    expect(doc.paths['/api/orders/{order_id}/returns/{return_id}/reject'].post.responses).toHaveProperty('409');
  });
});
