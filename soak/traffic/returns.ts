import { pickOrder, untilAnswered, type TrafficKind } from './shop.js';

/**
 * After delivery the customer sends a unit back; support receives it (restocked or not, which
 * refunds its price) or rejects it. The request is not retried blindly (it has no key); the
 * decision is, since a decided return answers 409 the second time.
 */
export const returns: TrafficKind = {
  name: 'return',
  weight: 2,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, 'delivered', (o) => o.items.some((i) => i.quantity > 0));
    if (!known) return;
    const item = rnd.pick(known.items.filter((i) => i.quantity > 0));
    const asked = await shop.client.call('return: request', known.user, 'POST', `/api/orders/${known.id}/returns`, {
      body: { items: [{ product_id: item.product_id, quantity: 1 }], reason: 'soak: does not fit' },
    });
    if (asked.status !== 201) return;
    item.quantity -= 1;
    const returnId = asked.body.id as string;
    shop.client.ack({ type: 'return', order_id: known.id, return_id: returnId, decision: 'requested' });
    const decision = rnd.chance(0.8) ? 'receive' : 'reject';
    const body = decision === 'receive' ? { restock: rnd.chance(0.7), note: 'soak' } : { note: 'soak: worn' };
    const path = `/api/orders/${known.id}/returns/${returnId}/${decision}`;
    const answer = await untilAnswered(
      () => shop.client.call(`return: ${decision}`, 'admin', 'POST', path, { body }),
      60_000,
    );
    if (answer.status === 200)
      shop.client.ack({
        type: 'return',
        order_id: known.id,
        return_id: returnId,
        decision: decision === 'receive' ? 'received' : 'rejected',
      });
  },
};
