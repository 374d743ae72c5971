import { pickOrder, untilAnswered, type TrafficKind } from './shop.js';

/**
 * The customer (now and then support) cancels a pending order in full: a refund in immediate
 * mode, a void in shipment mode. Retried after a timeout or a 5xx: a cancel that did commit answers
 * 409 the second time, which is as good as a 200 to a client.
 */
export const cancel: TrafficKind = {
  name: 'cancel',
  weight: 2,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, 'pending');
    if (!known) return;
    const who = rnd.chance(0.2) ? 'admin' : known.user;
    const answer = await untilAnswered(
      () => shop.client.call('cancel', who, 'POST', `/api/orders/${known.id}/cancel`, { body: { reason: 'soak' } }),
      60_000,
    );
    if (answer.status === 200) {
      known.status = 'cancelled';
      shop.client.ack({ type: 'cancel', order_id: known.id, units: 'all' });
    } else if (answer.status === 409) known.status = 'unknown';
  },
};
