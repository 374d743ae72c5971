import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../../../src/application/reconcile-payments.js';
import { loadConfig } from '../../../../src/config.js';
import { createPaymentProcessor } from '../../../../src/payments/processor.js';
import { PaymentProviderError, type PaymentProvider } from '../../../../src/payments/provider.js';
import { createSandboxProvider } from '../../../../src/payments/sandbox.js';
import { buildTestApp, TEST_SECRET, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, expectProblem, getJson, uid } from '../../../helpers/http.js';
import { reconcileNow } from '../../../helpers/payments.js';

const SHIPMENT = { PAYMENT_CAPTURE: 'shipment' };
const DAY = 86_400_000;

/**
 * PAYMENT_CAPTURE=shipment through HTTP with the sandbox: creation authorizes, the move to
 * `shipped` captures, a cancel before it voids, a refused capture leaves the order where it was.
 */
describe.each(DATABASES)('capture at shipment on %s', (kind) => {
  let t: TestApp;
  /** The sandbox, with a switch that makes its captures fail as an unreachable provider's would. */
  const outage = { captures: 0, calls: [] as string[] };
  beforeAll(async () => {
    const sandbox = createSandboxProvider();
    const flaky: PaymentProvider = {
      ...sandbox,
      async capture(input) {
        outage.calls.push(input.captureId);
        if (outage.captures > 0) {
          outage.captures--;
          throw new PaymentProviderError('sandbox: timed out');
        }
        return sandbox.capture(input);
      },
    };
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, ...SHIPMENT });
    t = await buildTestApp(kind, {
      env: { ...SHIPMENT, AUTHORIZATION_WARN_HOURS: '24' },
      app: { payments: await createPaymentProcessor(config, { sandbox: flaky }) },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const admin = () => t.adminToken();
  const advance = async (id: string, status: string, extra: Record<string, unknown> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/status`,
      headers: bearer(await admin()),
      payload: { status, ...extra },
    });
  const ledger = async (id: string) =>
    (await getJson(t, await admin(), `/api/orders/${id}/payments`)).json().items as {
      kind: string;
      status: string;
      amount: number;
      id: string;
    }[];
  const events = (orderId: string, type: string) =>
    t.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', type)
      .where(sql<string>`payload->>'order_id'`, '=', orderId)
      .execute();
  async function authorized(source = 'pm_card_visa', price = 1200, quantity = 2) {
    const sku = uid('sku');
    await putProduct(t, sku, { price, stock: 10 });
    const token = await t.token(uid('buyer'));
    const res = await createOrder(t, token, orderBody([{ product_id: sku, quantity }], source));
    expect(res.statusCode, res.body).toBe(201);
    return { token, order: res.json(), sku };
  }

  it('creation only authorizes: payment authorized, nothing captured, an expiry 7 days out', async () => {
    const before = Date.now();
    const { order } = await authorized();
    expect(order.payment).toMatchObject({
      status: 'authorized',
      amount: 2400,
      amount_authorized: 2400,
      amount_captured: 0,
      amount_refunded: 0,
    });
    const expires = Date.parse(order.payment.authorization_expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 7 * DAY + 1000);
    expect((await ledger(order.id)).map((e) => [e.kind, e.status, e.amount])).toEqual([
      ['authorization', 'succeeded', 2400],
    ]);
    expect((await getJson(t, await admin(), `/api/orders/${order.id}`)).json().payment).toEqual(order.payment);
  });

  it('the move to shipped captures the total: payment succeeded, payment.captured once, the order shipped', async () => {
    const { order } = await authorized();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    const shipped = await advance(order.id, 'shipped', { tracking: { carrier: 'UPS', number: '1Z' }, note: 'out' });
    expect(shipped.statusCode, shipped.body).toBe(200);
    expect(shipped.json()).toMatchObject({ status: 'shipped', tracking: { carrier: 'UPS', number: '1Z' } });
    expect(shipped.json().payment).toMatchObject({
      status: 'succeeded',
      amount_authorized: 2400,
      amount_captured: 2400,
      authorization_expires_at: null,
    });
    expect((await ledger(order.id)).map((e) => [e.kind, e.status, e.amount])).toEqual([
      ['authorization', 'succeeded', 2400],
      ['capture', 'succeeded', 2400],
    ]);
    const captured = await events(order.id, 'payment.captured');
    expect(captured).toHaveLength(1);
    expect((captured[0]!.payload as { data: { payment: { status: string } } }).data.payment.status).toBe('succeeded');
    expect(await events(order.id, 'order.status_changed')).toHaveLength(2);
    const history = (await getJson(t, await admin(), `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({ status: 'shipped', note: 'out' });
    // Delivered afterwards without touching the money.
    expect((await advance(order.id, 'delivered')).json().payment.amount_captured).toBe(2400);
  });

  it('a cancel before capture voids the authorization: voided, no refund, payment.voided once', async () => {
    const { order, token, sku } = await authorized();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().order.payment).toMatchObject({
      status: 'voided',
      amount_authorized: 2400,
      amount_captured: 0,
      amount_refunded: 0,
      authorization_expires_at: null,
    });
    expect((await ledger(order.id)).map((e) => [e.kind, e.status, e.amount])).toEqual([
      ['authorization', 'succeeded', 2400],
      ['void', 'succeeded', 2400],
    ]);
    expect(await events(order.id, 'payment.voided')).toHaveLength(1);
    expect(await events(order.id, 'payment.refunded')).toHaveLength(0);
    expect((await getJson(t, await admin(), `/api/products/${sku}`)).json().stock).toBe(10);
  });

  it('a refused capture → 402 authorization_expired; the order stays processing, its history says why; a retry is refused the same way', async () => {
    const { order } = await authorized('pm_card_captureDeclined');
    expect(order.payment.status).toBe('authorized');
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    const refused = await advance(order.id, 'shipped');
    const body = expectProblem(refused, 402, 'payment_declined');
    expect(body.decline_code).toBe('authorization_expired');
    const now = (await getJson(t, await admin(), `/api/orders/${order.id}`)).json();
    expect(now).toMatchObject({ status: 'processing', payment: { status: 'authorized', amount_captured: 0 } });
    const history = (await getJson(t, await admin(), `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({
      status: 'processing',
      actor: 'admin',
      note: expect.stringContaining('authorization_expired'),
    });
    expect(expectProblem(await advance(order.id, 'shipped'), 402, 'payment_declined').decline_code).toBe(
      'authorization_expired',
    );
    expect((await ledger(order.id)).map((e) => [e.kind, e.status])).toEqual([
      ['authorization', 'succeeded'],
      ['capture', 'failed'],
      ['capture', 'failed'],
    ]);
    expect(await events(order.id, 'payment.captured')).toHaveLength(0);
  });

  it('the provider down during the capture → 502, nothing captured; the reconciler captures once and ships', async () => {
    const { order } = await authorized();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    outage.captures = 1;
    outage.calls = [];
    expectProblem(await advance(order.id, 'shipped', { note: 'via the reconciler' }), 502, 'payment_provider_error');
    const stuck = (await getJson(t, await admin(), `/api/orders/${order.id}`)).json();
    expect(stuck).toMatchObject({ status: 'processing', payment: { status: 'processing', amount_captured: 0 } });
    await reconcileNow(t, order.payment.transaction_id);
    const done = (await getJson(t, await admin(), `/api/orders/${order.id}`)).json();
    expect(done).toMatchObject({ status: 'shipped', payment: { status: 'succeeded', amount_captured: 2400 } });
    expect(new Set(outage.calls).size).toBe(1); // the same capture id each time: one capture
    expect(await events(order.id, 'payment.captured')).toHaveLength(1);
    const history = (await getJson(t, await admin(), `/api/orders/${order.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({ status: 'shipped', actor: 'admin', note: 'via the reconciler' });
  });

  it('a ship retried after a 502 makes the same capture, never a second one', async () => {
    const { order } = await authorized();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    outage.captures = 1;
    outage.calls = [];
    expect((await advance(order.id, 'shipped')).statusCode).toBe(502);
    const again = await advance(order.id, 'shipped');
    expect(again.statusCode, again.body).toBe(200);
    expect(new Set(outage.calls).size).toBe(1);
    expect((await ledger(order.id)).map((e) => [e.kind, e.status])).toEqual([
      ['authorization', 'succeeded'],
      ['capture', 'succeeded'],
    ]);
  });

  it('racing ships: one capture, one shipped order', async () => {
    const { order } = await authorized();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    const results = await Promise.all(Array.from({ length: 5 }, () => advance(order.id, 'shipped')));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.statusCode !== 200)) expect(r.statusCode).toBe(409);
    expect((await ledger(order.id)).filter((e) => e.kind === 'capture').map((e) => e.status)).toEqual(['succeeded']);
    expect(await events(order.id, 'payment.captured')).toHaveLength(1);
  });

  it('an authorization about to lapse: one history warning, and the gauge counts it', async () => {
    const { order } = await authorized();
    // As if authorized six and a half days ago: it lapses in half a day, inside the 24 h warning.
    await sql`update payment_transactions set authorization_expires_at = now() + interval '12 hours' where id = ${order.payment.transaction_id}::uuid`.execute(
      t.db,
    );
    const gauge = async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^payment_authorizations_expiring (\d+)/m.exec(text)?.[1]);
    };
    expect(await gauge()).toBeGreaterThanOrEqual(1);
    await reconcilePayments(t.app.deps);
    await reconcilePayments(t.app.deps);
    const notes = (await getJson(t, await admin(), `/api/orders/${order.id}/history`))
      .json()
      .items.filter((h: { note: string | null }) => h.note?.includes('authorization expires'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ status: 'pending', actor: 'system' });
    const before = await gauge();
    expect((await advance(order.id, 'processing')).statusCode).toBe(200);
    expect((await advance(order.id, 'shipped')).statusCode).toBe(200);
    expect(await gauge()).toBe(before - 1);
  });
});
