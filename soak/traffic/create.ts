import { randomUUID } from 'node:crypto';
import type { Random } from '../random.js';
import { isOk, untilAnswered, type Shop, type TrafficKind } from './shop.js';

/**
 * A customer places an order: one to three products, through one of the enabled providers (a
 * decline now and then), most with an Idempotency-Key and retried with it after a timeout or a 5xx
 * until answered; some without a key, never retried (a client without a key cannot know).
 */
const PROVIDERS = [
  { name: 'stripe', weight: 3 },
  { name: 'square', weight: 2 },
  { name: 'paypal', weight: 2 },
  { name: 'adyen', weight: 2 },
  { name: 'sandbox', weight: 1 },
] as const;

const ADYEN_CARD = {
  type: 'scheme',
  encryptedCardNumber: 'test_4111111111111111',
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
};

function source(shop: Shop, rnd: Random, provider: string, total: number): unknown {
  const decline = rnd.chance(0.05);
  switch (provider) {
    case 'adyen':
      return decline ? { ...ADYEN_CARD, encryptedCardNumber: 'test_refused' } : ADYEN_CARD;
    case 'stripe':
      return decline ? 'pm_card_chargeDeclined' : 'pm_card_visa';
    case 'square':
      return decline ? 'cnon:card-nonce-declined' : 'cnon:card-nonce-ok';
    case 'paypal':
      // The buyer approved an order of the capture mode the shop believes the instances run.
      return shop.emulators.paypal.approvedOrder(total, 'USD', {
        decline,
        intent: shop.captureMode === 'shipment' ? 'AUTHORIZE' : 'CAPTURE',
      });
    default:
      return decline ? 'pm_card_chargeDeclined' : 'pm_card_visa';
  }
}

export const create: TrafficKind = {
  name: 'create',
  weight: 10,
  async run(shop, rnd) {
    const user = rnd.pick(shop.users);
    const count = rnd.int(1, 3);
    const products = [...shop.products].sort(() => rnd.next() - 0.5).slice(0, count);
    const items = products.map((p) => ({ product_id: p.id, quantity: rnd.int(1, 3) }));
    const total = items.reduce((s, i) => s + i.quantity * products.find((p) => p.id === i.product_id)!.price, 0);
    const provider = rnd.weighted(PROVIDERS).name;
    const body = { items, currency: 'USD', payment: { provider, source: source(shop, rnd, provider, total) } };
    const keyed = rnd.chance(0.8);
    const send = (headers: Record<string, string>) =>
      shop.client.call(keyed ? 'create' : 'create (no key)', user, 'POST', '/api/orders', {
        body,
        headers,
        timeoutMs: 12_000,
      });
    const headers: Record<string, string> = keyed ? { 'idempotency-key': randomUUID() } : {};
    const answer = keyed ? await untilAnswered(() => send(headers), 90_000) : await send(headers);
    if (!isOk(answer)) return;
    const order = answer.body as { id: string; status: string; payment: { status: string } };
    shop.client.ack({ type: 'order', id: order.id, user, provider });
    shop.orders.set(order.id, {
      id: order.id,
      user,
      provider,
      items,
      status: order.status,
      authorizedOnly: order.payment.status === 'authorized',
    });
  },
};
