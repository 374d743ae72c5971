import { pickOrder, type TrafficKind } from './shop.js';

type Item = { product_id: string; quantity: number; quantity_cancelled: number; quantity_returned: number };
const remaining = (items: Item[]) =>
  items.map((i) => ({ product_id: i.product_id, quantity: i.quantity - i.quantity_cancelled - i.quantity_returned }));

/**
 * One unit of a pending order cancelled. Not retried blindly (a partial cancel has no key, a
 * second one would cancel another unit): after no answer the client reads the order and moves on.
 */
export const partialCancel: TrafficKind = {
  name: 'partial cancel',
  weight: 2,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, 'pending', (o) => o.items.some((i) => i.quantity > 1) || o.items.length > 1);
    if (!known) return;
    const item = rnd.pick(known.items.filter((i) => i.quantity > 0));
    const answer = await shop.client.call('partial cancel', known.user, 'POST', `/api/orders/${known.id}/cancel`, {
      body: { reason: 'soak: one unit', items: [{ product_id: item.product_id, quantity: 1 }] },
    });
    if (answer.status === 200) {
      item.quantity -= 1;
      known.status = answer.body.order.status as string;
      shop.client.ack({ type: 'cancel', order_id: known.id, units: 1 });
    } else if (answer.status !== 422) {
      const now = await shop.client.call('read', known.user, 'GET', `/api/orders/${known.id}`);
      known.status = now.status === 200 ? (now.body.status as string) : 'unknown';
      if (now.status === 200) known.items = remaining(now.body.items as Item[]);
    }
  },
};
