import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePayments } from '../../src/application/reconcile-payments.js';
import type { OrderApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPaymentProcessor } from '../../src/payments/processor.js';
import { createSandboxProvider } from '../../src/payments/sandbox.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { buildTestApp, TEST_SECRET, putProduct, type TestApp } from '../helpers/app.js';
import { bearer, uid } from '../helpers/http.js';

/**
 * The roads to the end of a payment the customer completes, racing across two instances of the
 * service on one PostgreSQL database (each with its own pool), as a deployment runs them: the
 * buyer's returns, the provider's webhooks (delivered twice, to either instance) and both
 * reconcilers. Whatever the order of arrival, an order is placed at most once and captured once.
 */
describe('payments the customer completes, racing across two instances on PostgreSQL', () => {
  let emu: Emulators;
  let a: TestApp;
  /** The second instance: the same database through a pool of its own. */
  let b: TestApp;
  type AnyJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    emu = await startEmulators();
    a = await buildTestApp('postgres', { emulators: emu });
    b = await buildTestApp(a, { emulators: emu, ownPool: true });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await emu?.close();
  });

  const topicsOf = async (orderId: string) =>
    (await a.db.selectFrom('outbox').select(['topic', 'payload']).execute())
      .filter((r) => (r.payload as AnyJson).order_id === orderId)
      .map((r) => r.topic);

  async function awaiting(app: OrderApp, payment: Record<string, unknown>, price = 1200) {
    const productId = uid('sku');
    await putProduct(a, productId, { price, stock: 10 });
    const token = await a.token(uid('buyer'));
    const res = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: bearer(token),
      payload: { items: [{ product_id: productId, quantity: 1 }], currency: 'USD', payment },
    });
    expect(res.statusCode, res.body).toBe(201);
    return { token, productId, order: res.json() as AnyJson };
  }

  it('PayPal: 40 returns and 4 webhook deliveries over two instances, with both reconcilers: one capture, placed once', async () => {
    const { token, order } = await awaiting(a.app, { provider: 'paypal', return_url: 'https://shop.example/back' });
    const hook = emu.paypal.approve(order.payment.provider_reference);
    const apps = [a.app, b.app];
    const deliver = (app: OrderApp) =>
      app.inject({ method: 'POST', url: '/api/webhooks/paypal', headers: hook.headers, payload: hook.body });
    const answers = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) =>
        apps[i % 2]!.inject({ method: 'POST', url: `/api/orders/${order.id}/payment/confirm`, headers: bearer(token) }),
      ),
      deliver(a.app),
      deliver(b.app),
      deliver(a.app),
      deliver(b.app),
      reconcilePayments(a.app.deps).then(() => null),
      reconcilePayments(b.app.deps).then(() => null),
    ]);
    for (const r of answers) if (r) expect(r.statusCode, r.body).toBe(200);
    expect(emu.paypal.capturesFor(order.payment.transaction_id)).toBe(1);
    const placed = (
      await a.app.inject({ method: 'GET', url: `/api/orders/${order.id}`, headers: bearer(token) })
    ).json();
    expect(placed).toMatchObject({ status: 'pending', payment: { status: 'succeeded', amount_captured: 1200 } });
    expect((await topicsOf(order.id)).sort()).toEqual(['order.created', 'order_confirmation']);
    const history = (
      await a.app.inject({ method: 'GET', url: `/api/orders/${order.id}/history`, headers: bearer(token) })
    ).json().items as AnyJson[];
    expect(history.map((h) => h.status)).toEqual(['awaiting_payment', 'pending']);
  });

  it('Stripe: 30 returns and the succeeded webhook twice to each instance: placed once, one charge', async () => {
    const { token, order } = await awaiting(b.app, {
      provider: 'stripe',
      source: 'pm_card_threeDSecureRequired',
      return_url: 'https://shop.example/back',
    });
    const hook = emu.stripe.authenticate(order.payment.provider_reference, 'complete');
    const deliver = (app: OrderApp) =>
      app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: hook.headers, payload: hook.body });
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).app.inject({
          method: 'POST',
          url: `/api/orders/${order.id}/payment/confirm`,
          headers: bearer(token),
        }),
      ),
      deliver(a.app),
      deliver(b.app),
      deliver(b.app),
      deliver(a.app),
    ]);
    for (const r of answers) expect(r.statusCode, r.body).toBe(200);
    expect(emu.stripe.chargesFor(order.payment.transaction_id)).toBe(1);
    expect((await topicsOf(order.id)).sort()).toEqual(['order.created', 'order_confirmation']);
  });

  it('the expiry racing a late success ends in exactly one of "placed" or "refunded in full", never both and never neither (a provider that cannot cancel)', async () => {
    // The sandbox without its cancel: a payment the expiry cannot stop, as with some redirect methods.
    const { cancelAction: _none, ...uncancellable } = createSandboxProvider();
    const env = { ...emu.env, PAYMENT_ACTION_TIMEOUT_SECONDS: '1', RECONCILE_AFTER_MS: '0' };
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_SECRET,
      DATABASE_URL: a.config.database.url,
      ...env,
    });
    const payments = await createPaymentProcessor(config, { sandbox: uncancellable });
    const alike = {
      emulators: emu,
      env: { PAYMENT_ACTION_TIMEOUT_SECONDS: '1', RECONCILE_AFTER_MS: '0' },
      app: { payments },
    };
    const quickA = await buildTestApp(a, alike);
    const quickB = await buildTestApp(b, alike);
    try {
      const outcomes: string[] = [];
      for (let round = 0; round < 6; round++) {
        const { token, order } = await awaiting(quickA.app, {
          provider: 'sandbox',
          source: 'pm_card_threeDSecureRequired',
          return_url: 'https://shop.example/back',
        });
        // Just past the expiry, the customer completes on the page while both reconcilers sweep.
        await new Promise((r) => setTimeout(r, 1050));
        const page = new URL(order.payment.next_action.url).pathname;
        const lag = (round % 3) * 40; // the customer a little before, with, or after the sweep
        await Promise.all([
          new Promise((r) => setTimeout(r, lag)).then(() =>
            (round % 2 ? quickA : quickB).app.inject({
              method: 'POST',
              url: page,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              payload: 'outcome=complete',
            }),
          ),
          reconcilePayments(quickA.app.deps),
          reconcilePayments(quickB.app.deps),
        ]);
        await reconcilePayments(quickA.app.deps);
        const end = (
          await quickA.app.inject({ method: 'GET', url: `/api/orders/${order.id}`, headers: bearer(token) })
        ).json();
        const topics = await topicsOf(order.id);
        if (end.status === 'pending') {
          expect(end.payment).toMatchObject({ status: 'succeeded', amount_captured: 1200, amount_refunded: 0 });
          expect(topics.sort()).toEqual(['order.created', 'order_confirmation']);
          outcomes.push('placed');
        } else {
          expect(end).toMatchObject({
            status: 'cancelled',
            payment: { status: 'refunded', amount_captured: 1200, amount_refunded: 1200 },
          });
          expect(topics).not.toContain('order.created');
          expect(topics.filter((x) => x === 'payment.refunded')).toHaveLength(1);
          outcomes.push('refunded');
        }
      }
      expect(outcomes).toHaveLength(6);
      console.info(`expiry against a late success: ${outcomes.join(', ')}`);
    } finally {
      await quickA.close();
      await quickB.close();
    }
  });
});
