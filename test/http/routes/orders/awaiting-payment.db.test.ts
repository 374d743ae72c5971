import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../../../src/application/reconcile-payments.js';
import type { OrderApp } from '../../../../src/app.js';
import { loadConfig } from '../../../../src/config.js';
import { createPaymentProcessor } from '../../../../src/payments/processor.js';
import { authenticateSandboxAction, createSandboxProvider } from '../../../../src/payments/sandbox.js';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, expectProblem, expectValidation, getJson, stockOf, uid } from '../../../helpers/http.js';

const THREE_DS = 'pm_card_threeDSecureRequired';
const RETURN_URL = 'https://shop.example/checkout/return?cart=42';

describe.each(DATABASES)('payments the customer completes (sandbox 3-D Secure) on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  type AnyJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** A fresh product and an order for it that waits for its customer. */
  async function awaitingOrder(
    opts: {
      app?: OrderApp;
      stock?: number;
      quantity?: number;
      returnUrl?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, stock: opts.stock ?? 5 });
    const sub = uid('buyer');
    const token = await t.token(sub);
    const body = orderBody([{ product_id: productId, quantity: opts.quantity ?? 2 }], THREE_DS, {});
    const payload = { ...body, payment: { ...body.payment, return_url: opts.returnUrl ?? RETURN_URL } };
    const app = opts.app ?? t.app;
    const res = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { ...bearer(token), ...opts.headers },
      payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    return { productId, sub, token, payload, order: res.json() as AnyJson };
  }

  const pagePath = (order: AnyJson) => new URL(order.payment.next_action.url).pathname;
  const answerPage = (order: AnyJson, outcome: string) =>
    t.app.inject({
      method: 'POST',
      url: pagePath(order),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `outcome=${outcome}`,
    });
  const confirm = (token: string, id: string, payload?: unknown) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/payment/confirm`,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const cancel = (token: string, id: string, payload?: unknown) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/cancel`,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const history = async (token: string, id: string) =>
    (await getJson(t, token, `/api/orders/${id}/history`)).json().items as AnyJson[];
  const messagesOf = async (orderId: string) => {
    const rows = await t.db.selectFrom('outbox').select(['topic', 'payload']).execute();
    return rows
      .filter((r) => (r.payload as AnyJson).order_id === orderId)
      .map((r) => ({ topic: r.topic, payload: r.payload as AnyJson }));
  };
  const ledgerOf = async (transactionId: string) =>
    (
      await t.db
        .selectFrom('payment_ledger')
        .select(['kind', 'status', 'amount', 'actor'])
        .where('transaction_id', '=', transactionId)
        .orderBy('seq')
        .execute()
    ).map((e) => [e.kind, e.status, Number(e.amount), e.actor]);

  it('a card that needs 3-D Secure, with a return URL: 201 awaiting_payment, requires_action with next_action, stock held, no event or email yet', async () => {
    const before = Date.now();
    const { order, token, productId, sub } = await awaitingOrder();
    expect(order).toMatchObject({
      status: 'awaiting_payment',
      user_id: sub,
      total: 3000,
      payment: {
        provider: 'sandbox',
        status: 'requires_action',
        amount: 3000,
        amount_authorized: 0,
        amount_captured: 0,
        next_action: {
          type: 'redirect',
          url: `http://localhost:8000/sandbox/authenticate/${order.payment.transaction_id}`,
          client_secret: null,
          provider_data: null,
        },
      },
    });
    const expires = Date.parse(order.payment.next_action.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 1800_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 1800_000 + 1000);
    expect(await stockOf(t, productId)).toBe(3);
    expect(await messagesOf(order.id)).toEqual([]);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toEqual(order);
    const listed = (await getJson(t, token, '/api/orders?status=awaiting_payment')).json();
    expect(listed.items.map((o: AnyJson) => o.id)).toEqual([order.id]);
    expect(await history(token, order.id)).toEqual([
      { status: 'awaiting_payment', at: order.created_at, actor: sub, note: null },
    ]);
  });

  it('without a return URL the same card is declined as before: 402 authentication_required, no order, stock untouched', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, stock: 5 });
    const res = await createOrder(
      t,
      await t.token(uid('buyer')),
      orderBody([{ product_id: productId, quantity: 1 }], THREE_DS),
    );
    expect(expectProblem(res, 402, 'payment_declined').decline_code).toBe('authentication_required');
    expect(await stockOf(t, productId)).toBe(5);
  });

  it('with a return URL a card that needs nobody is placed at once, exactly as without', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, stock: 5 });
    const body = orderBody([{ product_id: productId, quantity: 1 }]);
    const res = await createOrder(t, await t.token(uid('buyer')), {
      ...body,
      payment: { ...body.payment, return_url: 'http://127.0.0.1:3000/back' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ status: 'pending', payment: { status: 'succeeded', next_action: null } });
  });

  it('the customer completes on the sandbox page: 303 to the return URL, the order placed once with its event and email', async () => {
    const { order, token, sub, productId } = await awaitingOrder();
    const page = await t.app.inject({ method: 'GET', url: pagePath(order) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('value="complete"');
    expect(page.body).toContain('value="fail"');
    expect(page.body).toContain('$30.00');

    const done = await answerPage(order, 'complete');
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(RETURN_URL);

    const placed = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(placed).toMatchObject({
      status: 'pending',
      payment: { status: 'succeeded', amount_captured: 3000, next_action: null },
    });
    expect(await stockOf(t, productId)).toBe(3);
    // The customer's return comes after the webhook: it changes nothing.
    const again = await confirm(token, order.id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(placed);
    expect((await messagesOf(order.id)).map((m) => m.topic).sort()).toEqual(['order.created', 'order_confirmation']);
    expect((await history(token, order.id)).map((h) => [h.status, h.actor])).toEqual([
      ['awaiting_payment', sub],
      ['pending', 'system'],
    ]);
    expect(await ledgerOf(order.payment.transaction_id)).toEqual([
      ['authorization', 'succeeded', 3000, sub],
      ['capture', 'succeeded', 3000, sub],
    ]);
    // A finished payment's page is gone.
    expect((await t.app.inject({ method: 'GET', url: pagePath(order) })).statusCode).toBe(404);
    expect((await answerPage(order, 'complete')).statusCode).toBe(404);
  });

  it('the customer fails 3-D Secure: cancelled, payment failed, stock back, order.cancelled with payment_failed, no email', async () => {
    const { order, token, productId } = await awaitingOrder();
    expect((await answerPage(order, 'fail')).statusCode).toBe(303);
    const ended = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(ended).toMatchObject({
      status: 'cancelled',
      current_total: 0,
      payment: { status: 'failed', next_action: null, amount_captured: 0 },
    });
    expect(await stockOf(t, productId)).toBe(5);
    const messages = await messagesOf(order.id);
    expect(messages.map((m) => m.topic)).toEqual(['order.cancelled']);
    expect(messages[0]!.payload.data.reason).toBe('payment_failed');
    expect((await history(token, order.id)).at(-1)).toMatchObject({
      status: 'cancelled',
      actor: 'system',
      note: 'payment_failed',
    });
  });

  it('the return road alone (the webhook lost): confirm asks the provider and places the order', async () => {
    const { order, token, sub } = await awaitingOrder();
    const waiting = await confirm(token, order.id, {});
    expect(waiting.statusCode).toBe(200);
    expect(waiting.json()).toMatchObject({ status: 'awaiting_payment', payment: { status: 'requires_action' } });
    // The customer completed at the provider, and its notice never came.
    expect(authenticateSandboxAction(order.payment.transaction_id, 'complete')).toBe(RETURN_URL);
    const res = await confirm(token, order.id, { redirect_result: 'ignored-by-the-sandbox' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', payment: { status: 'succeeded', next_action: null } });
    expect((await history(token, order.id)).map((h) => [h.status, h.actor])).toEqual([
      ['awaiting_payment', sub],
      ['pending', sub],
    ]);
  });

  it('dozens of racing returns and the notice: placed once, captured once, one event and one email', async () => {
    const { order, token } = await awaitingOrder();
    authenticateSandboxAction(order.payment.transaction_id, 'complete');
    const admin = await t.adminToken();
    const results = await Promise.all([
      ...Array.from({ length: 24 }, (_, i) => confirm(i % 3 === 0 ? admin : token, order.id)),
      reconcilePayments(t.app.deps).then(() => null),
    ]);
    for (const r of results) if (r) expect(r.statusCode).toBe(200);
    expect(new Set(results.filter((r) => r !== null).map((r) => r!.json().status))).toEqual(new Set(['pending']));
    expect((await messagesOf(order.id)).map((m) => m.topic).sort()).toEqual(['order.created', 'order_confirmation']);
    expect((await ledgerOf(order.payment.transaction_id)).filter(([kind]) => kind === 'capture')).toHaveLength(1);
    expect((await history(token, order.id)).filter((h) => h.status === 'pending')).toHaveLength(1);
  });

  it('the owner cancels while it waits: cancelled, nothing charged, stock back; a second cancel is 409; the page is gone', async () => {
    const { order, token, sub, productId } = await awaitingOrder();
    const res = await cancel(token, order.id, { reason: 'changed my mind' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      message: 'Order cancelled',
      order: { status: 'cancelled', payment: { status: 'failed', amount_captured: 0, next_action: null } },
    });
    expect(await stockOf(t, productId)).toBe(5);
    expectProblem(await cancel(token, order.id), 409, 'order_not_cancellable');
    expect(await stockOf(t, productId)).toBe(5);
    expect((await t.app.inject({ method: 'GET', url: pagePath(order) })).statusCode).toBe(404);
    expect((await history(token, order.id)).at(-1)).toMatchObject({
      status: 'cancelled',
      actor: sub,
      note: 'changed my mind',
    });
    const messages = await messagesOf(order.id);
    expect(messages.map((m) => m.topic)).toEqual(['order.cancelled']);
    expect(messages[0]!.payload.data.reason).toBe('changed my mind');
    // Nothing arrives later either: confirm changes nothing.
    expect((await confirm(token, order.id)).json()).toMatchObject({ status: 'cancelled' });
  });

  it('a partial cancel of an order that waits is 409 (it has no units to give back yet)', async () => {
    const { order, token, productId } = await awaitingOrder();
    expectProblem(
      await cancel(token, order.id, { items: [{ product_id: productId, quantity: 1 }] }),
      409,
      'order_not_cancellable',
    );
  });

  it('an order nobody pays expires: the reconciler cancels it (payment_expired, actor system), its stock back, and the gauge counts only waiting orders', async () => {
    const quick = await buildTestApp(t, { env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1' } });
    try {
      const { order, token, productId } = await awaitingOrder({ app: quick.app });
      expect(Date.parse(order.payment.next_action.expires_at) - Date.parse(order.created_at)).toBe(1000);
      const gauge = async () =>
        Number(
          /^orders_awaiting_payment (\d+)/m.exec(
            (await quick.app.inject({ method: 'GET', url: '/metrics' })).body,
          )?.[1],
        );
      const waitingBefore = await gauge();
      expect(waitingBefore).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 1100));
      await reconcilePayments(quick.app.deps);
      const ended = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(ended).toMatchObject({ status: 'cancelled', payment: { status: 'failed', next_action: null } });
      expect(await stockOf(t, productId)).toBe(5);
      expect((await history(token, order.id)).at(-1)).toMatchObject({
        status: 'cancelled',
        actor: 'system',
        note: 'payment_expired',
      });
      const messages = await messagesOf(order.id);
      expect(messages.map((m) => [m.topic, m.payload.data.reason])).toEqual([['order.cancelled', 'payment_expired']]);
      expect(await gauge()).toBe(waitingBefore - 1);
      // The customer comes back too late: the page is gone, nothing is charged.
      expect((await answerPage(order, 'complete')).statusCode).toBe(404);
    } finally {
      await quick.close();
    }
  });

  it('money that arrives after the order expired (a provider that cannot cancel) is recorded and refunded in full, once, by the system', async () => {
    const sandbox = createSandboxProvider();
    const { cancelAction: _cannot, ...uncancellable } = sandbox;
    const config = loadConfig({ NODE_ENV: 'test' });
    const payments = await createPaymentProcessor(config, { sandbox: uncancellable });
    const quick = await buildTestApp(t, {
      env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1', RECONCILE_AFTER_MS: '0' },
      app: { payments },
    });
    try {
      const { order, token, productId, sub } = await awaitingOrder({ app: quick.app });
      await new Promise((r) => setTimeout(r, 1100));
      await reconcilePayments(quick.app.deps);
      const ended = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(ended).toMatchObject({ status: 'cancelled', payment: { status: 'processing', next_action: null } });
      expect(await stockOf(t, productId)).toBe(5);
      // The customer still finishes at the provider, which could not be stopped; its notice and the reconciler race.
      const [page] = await Promise.all([answerPage(order, 'complete'), reconcilePayments(quick.app.deps)]);
      expect(page.statusCode).toBe(303);
      await reconcilePayments(quick.app.deps);
      const refunded = (await getJson(t, token, `/api/orders/${order.id}`)).json();
      expect(refunded).toMatchObject({
        status: 'cancelled',
        payment: { status: 'refunded', amount_captured: 3000, amount_refunded: 3000 },
      });
      expect(await ledgerOf(order.payment.transaction_id)).toEqual([
        ['authorization', 'succeeded', 3000, sub],
        ['capture', 'succeeded', 3000, sub],
        ['refund', 'succeeded', 3000, 'system'],
      ]);
      const topics = (await messagesOf(order.id)).map((m) => m.topic);
      expect(topics.filter((x) => x === 'payment.refunded')).toHaveLength(1);
      expect(topics).not.toContain('order.created');
      expect(await stockOf(t, productId)).toBe(5);
    } finally {
      await quick.close();
    }
  });

  it('in shipment mode a completed action only authorizes; the move to shipped captures', async () => {
    const shipment = await buildTestApp(t, { env: { PAYMENT_CAPTURE: 'shipment' } });
    try {
      const { order, token } = await awaitingOrder({ app: shipment.app });
      authenticateSandboxAction(order.payment.transaction_id, 'complete');
      const res = await shipment.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/payment/confirm`,
        headers: bearer(token),
      });
      expect(res.json()).toMatchObject({
        status: 'pending',
        payment: { status: 'authorized', amount_authorized: 3000, amount_captured: 0 },
      });
      expect(res.json().payment.authorization_expires_at).toEqual(expect.any(String));
      const admin = await t.adminToken();
      for (const status of ['processing', 'shipped']) {
        const moved = await shipment.app.inject({
          method: 'POST',
          url: `/api/orders/${order.id}/status`,
          headers: bearer(admin),
          payload: { status },
        });
        expect(moved.statusCode, moved.body).toBe(200);
      }
      expect((await getJson(t, token, `/api/orders/${order.id}`)).json()).toMatchObject({
        status: 'shipped',
        payment: { status: 'succeeded', amount_captured: 3000 },
      });
    } finally {
      await shipment.close();
    }
  });

  it('an Idempotency-Key replays the awaiting answer and charges nothing more', async () => {
    const key = uid('key');
    const first = await awaitingOrder({ headers: { 'idempotency-key': key } });
    const again = await createOrder(t, first.token, first.payload, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.order);
    expect(await stockOf(t, first.productId)).toBe(3);
  });

  it('an order that waits for its payment cannot be shipped or refunded', async () => {
    const { order } = await awaitingOrder();
    const admin = await t.adminToken();
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/status`,
        headers: bearer(admin),
        payload: { status: 'processing' },
      }),
      409,
      'invalid_transition',
    );
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/refunds`,
        headers: bearer(admin),
        payload: { amount: 100 },
      }),
      409,
      'payment_not_captured',
    );
  });

  it('confirm: someone else’s order 403, no order 404, a placed order answered unchanged, unknown fields 422', async () => {
    const { order, token } = await awaitingOrder();
    expectProblem(await confirm(await t.token(uid('other')), order.id), 403, 'forbidden');
    expectProblem(await confirm(token, '00000000-0000-4000-8000-000000000000'), 404, 'order_not_found');
    expectProblem(await confirm(token, 'not-a-uuid'), 404, 'order_not_found');
    expectValidation(await confirm(token, order.id, { redirect_result: 'x', extra: 1 }), '/extra');
    expectValidation(await confirm(token, order.id, { redirect_result: 7 }), '/redirect_result');
  });

  it.each([
    ['a plain-http URL off the loopback', 'http://shop.example/return'],
    ['a relative URL', '/checkout/return'],
    ['another scheme', 'javascript:alert(1)'],
    ['credentials in the URL', 'https://user:pw@shop.example/return'],
    ['more than 2,048 characters', `https://shop.example/${'a'.repeat(2030)}`],
    ['not a string', 42],
  ])('return_url: %s is 422 validation_error', async (_name, returnUrl) => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 100, stock: 5 });
    const body = orderBody([{ product_id: productId, quantity: 1 }], THREE_DS);
    const res = await createOrder(t, await t.token(uid('buyer')), {
      ...body,
      payment: { ...body.payment, return_url: returnUrl },
    });
    expectValidation(res, '/payment/return_url');
    expect(await stockOf(t, productId)).toBe(5);
  });

  it.each([
    ['https', 'https://shop.example/return?x=1#frag'],
    ['http on localhost', 'http://localhost:5173/return'],
    ['http on 127.0.0.1', 'http://127.0.0.1/return'],
    ['http on [::1]', 'http://[::1]:8080/return'],
  ])('return_url: %s is accepted', async (_name, returnUrl) => {
    const { order } = await awaitingOrder({ returnUrl });
    expect(order.status).toBe('awaiting_payment');
  });

  it('an unknown field beside return_url is 422', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 100, stock: 5 });
    const body = orderBody([{ product_id: productId, quantity: 1 }], THREE_DS);
    expectValidation(
      await createOrder(t, await t.token(uid('buyer')), {
        ...body,
        payment: { ...body.payment, return_url: RETURN_URL, cancel_url: RETURN_URL },
      }),
      '/payment/cancel_url',
    );
  });

  it('the sandbox page: an unknown transaction 404, a bad outcome 422, no token needed', async () => {
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/sandbox/authenticate/00000000-0000-4000-8000-000000000000',
    });
    expectProblem(unknown, 404, 'not_found');
    const { order } = await awaitingOrder();
    expectValidation(await answerPage(order, 'maybe'), '/outcome');
    expect((await t.app.inject({ method: 'GET', url: pagePath(order) })).statusCode).toBe(200);
  });

  it('a refund by support adds an entry to the order’s history (actor: the admin)', async () => {
    const { order, token } = await awaitingOrder();
    await answerPage(order, 'complete');
    const admin = await t.adminToken();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/refunds`,
      headers: bearer(admin),
      payload: { amount: 500, reason: 'damaged box' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect((await history(token, order.id)).at(-1)).toMatchObject({
      status: 'pending',
      actor: 'admin',
      note: 'refund of $5.00: damaged box',
    });
  });
});
