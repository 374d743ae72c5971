import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import type { Random } from '../random.js';
import { isOk, untilAnswered, type Shop, type TrafficKind } from './shop.js';

/**
 * A card that needs 3-D Secure (Stripe `pm_card_threeDSecureRequired`, with a `return_url`): the
 * order waits for its customer, who then completes it, fails it, abandons it (the reconciler ends it
 * at PAYMENT_ACTION_TIMEOUT_SECONDS), cancels it, or completes it only after it expired (that money
 * must be refunded in full). The outcome reaches the service by both roads, each on its own: Stripe's
 * webhook, retried until a 2xx, and, most of the time, the customer's return (`POST …/payment/confirm`).
 * The sandbox's 3-D Secure is left out: its page lives in the memory of the instance that made it.
 */
const OUTCOMES = [
  { name: 'complete', weight: 5 },
  { name: 'fail', weight: 2 },
  { name: 'abandon', weight: 1 },
  { name: 'cancel', weight: 1 },
  { name: 'complete late', weight: 1 },
] as const;

function deliver(shop: Shop, delivery: { body: string; headers: Record<string, string> }): void {
  const task = pRetry(
    async () => {
      if (!isOk(await shop.client.webhook('stripe', delivery))) throw new Error('webhook not accepted');
    },
    { retries: 1000, minTimeout: 500, maxTimeout: 5000, maxRetryTime: 300_000 },
  ).catch(() => undefined);
  shop.background.add(task);
  void task.finally(() => shop.background.delete(task));
}

/** Seconds an order waits for its customer in the soak (PAYMENT_ACTION_TIMEOUT_SECONDS of the rig). */
export const ACTION_TIMEOUT_S = 20;

export const customerAction: TrafficKind = {
  name: '3-D Secure',
  weight: 2,
  async run(shop: Shop, rnd: Random) {
    const user = rnd.pick(shop.users);
    const product = rnd.pick(shop.products.filter((p) => p.id !== 'soak-limited'));
    const body = {
      items: [{ product_id: product.id, quantity: 1 }],
      currency: 'USD',
      payment: {
        provider: 'stripe',
        source: 'pm_card_threeDSecureRequired',
        return_url: 'http://127.0.0.1/soak/return',
      },
    };
    const key = { 'idempotency-key': randomUUID() };
    const created = await untilAnswered(
      () =>
        shop.client.call('3-D Secure: create', user, 'POST', '/api/orders', { body, headers: key, timeoutMs: 12_000 }),
      90_000,
    );
    if (created.status !== 201) return;
    const order = created.body as { id: string; status: string; payment: { provider_reference: string | null } };
    shop.client.ack({ type: 'order', id: order.id, user, provider: 'stripe' });
    shop.orders.set(order.id, {
      id: order.id,
      user,
      provider: 'stripe',
      items: body.items,
      status: order.status,
      authorizedOnly: shop.captureMode === 'shipment',
    });
    const pi = order.payment.provider_reference;
    if (order.status !== 'awaiting_payment' || !pi) return;
    const outcome = rnd.weighted(OUTCOMES).name;
    if (outcome === 'abandon') return;
    if (outcome === 'cancel') {
      const answer = await untilAnswered(
        () => shop.client.call('3-D Secure: cancel', user, 'POST', `/api/orders/${order.id}/cancel`, { body: {} }),
        60_000,
      );
      if (answer.status === 200) shop.client.ack({ type: 'cancel', order_id: order.id, units: 'all' });
      return;
    }
    // The customer takes a moment at the bank's page; a late one comes back after the order expired.
    await new Promise((r) =>
      setTimeout(r, outcome === 'complete late' ? (ACTION_TIMEOUT_S + 5) * 1000 : rnd.int(200, 3000)),
    );
    let webhook;
    try {
      webhook = shop.emulators.stripe.authenticate(pi, outcome === 'fail' ? 'fail' : 'complete');
    } catch {
      return; // the intent no longer waits (cancelled at expiry)
    }
    deliver(shop, webhook);
    if (rnd.chance(0.7))
      await untilAnswered(
        () =>
          shop.client.call('3-D Secure: confirm', user, 'POST', `/api/orders/${order.id}/payment/confirm`, {
            body: {},
          }),
        60_000,
      );
  },
};
