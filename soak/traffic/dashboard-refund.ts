import pRetry from 'p-retry';
import type { Random } from '../random.js';
import { isOk, pickOrder, type Shop, type TrafficKind } from './shop.js';

/**
 * Someone refunds part of an order in the provider's dashboard: the money moves at the provider,
 * and the provider's webhooks tell the service — delivered through nginx as providers deliver
 * them, some twice, each retried until a 2xx (a provider retries for days; here until the drain).
 */
type Delivery = { body: string; headers: Record<string, string> };

function refundAt(shop: Shop, provider: string, reference: string, amount: number): Delivery[] {
  const { stripe, square, paypal, adyen, mollie } = shop.emulators;
  if (provider === 'adyen') {
    adyen.dashboardRefund(reference, amount);
    return []; // its REFUND notification goes out with the others (adyen-notifier.ts)
  }
  if (provider === 'mollie') {
    mollie.dashboardRefund(reference, amount);
    return [mollie.webhook(reference)];
  }
  if (provider === 'stripe') {
    const r = stripe.dashboardRefund(reference, amount);
    return [r.chargeRefunded, r.refundCreated];
  }
  if (provider === 'square') {
    const r = square.dashboardRefund(reference, amount);
    return [r.refundCreated, r.paymentUpdated];
  }
  return [paypal.dashboardRefund(reference, amount).delivery];
}

function deliver(shop: Shop, provider: string, delivery: Delivery): void {
  const attempt = async () => {
    const answer = await shop.client.webhook(provider, delivery);
    if (!isOk(answer)) throw new Error(`webhook answered ${answer.status}`);
  };
  const task = pRetry(attempt, { retries: 1000, minTimeout: 500, maxTimeout: 5000, maxRetryTime: 300_000 }).catch(
    () => undefined,
  );
  shop.background.add(task);
  void task.finally(() => shop.background.delete(task));
}

export const dashboardRefund: TrafficKind = {
  name: 'dashboard refund',
  weight: 1,
  async run(shop: Shop, rnd: Random) {
    const known = pickOrder(shop, rnd, rnd.pick(['pending', 'shipped', 'delivered']), (o) => o.provider !== 'sandbox');
    if (!known) return;
    const entries = await shop.client.call('read', 'admin', 'GET', `/api/orders/${known.id}/payments`);
    if (entries.status !== 200) return;
    const capture = (entries.body.items as { kind: string; status: string; provider_reference: string | null }[]).find(
      (e) => e.kind === 'capture' && e.status === 'succeeded',
    );
    // Stripe and Square refund the payment; PayPal a capture.
    const order = await shop.client.call('read', 'admin', 'GET', `/api/orders/${known.id}`);
    const reference =
      known.provider === 'paypal' ? capture?.provider_reference : order.body?.payment?.provider_reference;
    if (!capture || !reference) return;
    let deliveries: Delivery[];
    try {
      deliveries = refundAt(shop, known.provider, reference, rnd.int(50, 400));
    } catch {
      return; // nothing left to refund at the provider
    }
    for (const d of deliveries) {
      deliver(shop, known.provider, d);
      if (rnd.chance(0.3)) deliver(shop, known.provider, d);
    }
  },
};
