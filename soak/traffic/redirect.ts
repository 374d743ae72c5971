import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import type { Random } from '../random.js';
import { ACTION_TIMEOUT_S } from './customer-action.js';
import { isOk, untilAnswered, type Shop, type TrafficKind } from './shop.js';

/**
 * Payments the customer finishes away from the shop, at Adyen (3-D Secure on a card, or iDEAL) and
 * Mollie (its checkout): the order waits for its customer, who completes it, fails it, abandons it
 * (the provider's session then expires: Adyen notifies AUTHORISATION false, Mollie's payment turns
 * `expired`), cancels the order, or completes only after the order expired (that money must be given
 * back in full). The customer comes back to the shop most of the time (`POST …/payment/confirm`,
 * with Adyen's `redirectResult`); Mollie's webhook names the payment (retried until a 2xx); Adyen's
 * notifications go out on their own (adyen-notifier.ts).
 */
const OUTCOMES = [
  { name: 'complete', weight: 5 },
  { name: 'fail', weight: 2 },
  { name: 'abandon', weight: 1 },
  { name: 'cancel', weight: 1 },
  { name: 'complete late', weight: 1 },
] as const;

const ADYEN_CARD = {
  type: 'scheme',
  encryptedCardNumber: 'test_3ds2',
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
};
const ADYEN_IDEAL = { type: 'ideal', issuer: '1121' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deliverMollie(shop: Shop, id: string): void {
  const task = pRetry(
    async () => {
      if (!isOk(await shop.client.webhook('mollie', shop.emulators.mollie.webhook(id))))
        throw new Error('webhook not accepted');
    },
    { retries: 1000, minTimeout: 500, maxTimeout: 5000, maxRetryTime: 300_000 },
  ).catch(() => undefined);
  shop.background.add(task);
  void task.finally(() => shop.background.delete(task));
}

export const redirectPayment: TrafficKind = {
  name: 'redirect',
  weight: 2,
  async run(shop: Shop, rnd: Random) {
    const provider = rnd.chance(0.5) ? 'adyen' : 'mollie';
    const user = rnd.pick(shop.users);
    const product = rnd.pick(shop.products.filter((p) => p.id !== 'soak-limited'));
    const source =
      provider === 'adyen' ? (rnd.chance(0.5) ? ADYEN_CARD : ADYEN_IDEAL) : rnd.pick(['ideal', 'creditcard']);
    const body = {
      items: [{ product_id: product.id, quantity: 1 }],
      currency: 'USD',
      payment: { provider, source, return_url: 'http://127.0.0.1/soak/return' },
    };
    const kind = `${provider} redirect`;
    const key = { 'idempotency-key': randomUUID() };
    const created = await untilAnswered(
      () => shop.client.call(`${kind}: create`, user, 'POST', '/api/orders', { body, headers: key, timeoutMs: 12_000 }),
      90_000,
    );
    if (created.status !== 201) return;
    const order = created.body as { id: string; status: string; payment: { provider_reference: string | null } };
    shop.client.ack({ type: 'order', id: order.id, user, provider });
    shop.orders.set(order.id, {
      id: order.id,
      user,
      provider,
      items: body.items,
      status: order.status,
      authorizedOnly: shop.captureMode === 'shipment',
    });
    const ref = order.payment.provider_reference;
    if (order.status !== 'awaiting_payment' || !ref) return;
    const outcome = rnd.weighted(OUTCOMES).name;
    if (outcome === 'cancel') {
      const answer = await untilAnswered(
        () => shop.client.call(`${kind}: cancel`, user, 'POST', `/api/orders/${order.id}/cancel`, { body: {} }),
        60_000,
      );
      if (answer.status === 200) shop.client.ack({ type: 'cancel', order_id: order.id, units: 'all' });
    }
    if (outcome === 'abandon' || outcome === 'cancel') {
      // The provider's session outlives the order a little, then expires there.
      await sleep((ACTION_TIMEOUT_S + 5) * 1000);
      if (provider === 'adyen') shop.emulators.adyen.expireShopper(ref);
      else if (shop.emulators.mollie.payments.get(ref)?.status === 'open') {
        shop.emulators.mollie.customerPays(ref, 'expired');
        deliverMollie(shop, ref);
      }
      return;
    }
    await sleep(outcome === 'complete late' ? (ACTION_TIMEOUT_S + 5) * 1000 : rnd.int(200, 3000));
    const paid = outcome !== 'fail';
    let redirectResult: string | undefined;
    if (provider === 'adyen') {
      const p = shop.emulators.adyen.payments.get(ref);
      if (p?.state !== 'action') return;
      redirectResult = shop.emulators.adyen.completeShopper(ref, paid ? 'authorised' : 'refused');
    } else {
      if (shop.emulators.mollie.payments.get(ref)?.status !== 'open') return;
      shop.emulators.mollie.customerPays(ref, paid ? 'paid' : 'failed');
      deliverMollie(shop, ref);
    }
    if (rnd.chance(0.7))
      await untilAnswered(
        () =>
          shop.client.call(`${kind}: confirm`, user, 'POST', `/api/orders/${order.id}/payment/confirm`, {
            body: redirectResult ? { redirect_result: redirectResult } : {},
          }),
        60_000,
      );
  },
};
