import { pickOrder, untilAnswered, type TrafficKind } from './shop.js';

/**
 * Support moves a pending order along: processing, shipped (which captures what it owes when the
 * order was only authorized) and, half the time, delivered. Each step is retried after a timeout or a
 * 5xx; a step that had committed answers 409 invalid_transition the second time.
 */
export const ship: TrafficKind = {
  name: 'ship',
  weight: 4,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, 'pending');
    if (!known) return;
    const steps = rnd.chance(0.6) ? ['processing', 'shipped', 'delivered'] : ['processing', 'shipped'];
    for (const status of steps) {
      const body =
        status === 'shipped'
          ? { status, tracking: { carrier: 'UPS', number: `1Z${known.id.slice(0, 8)}` } }
          : { status };
      const answer = await untilAnswered(
        () => shop.client.call(`ship: ${status}`, 'admin', 'POST', `/api/orders/${known.id}/status`, { body }),
        60_000,
      );
      if (answer.status !== 200) {
        // Cancelled meanwhile, a capture refused, or no answer: the order is where the service says.
        const now = await shop.client.call('read', known.user, 'GET', `/api/orders/${known.id}`);
        known.status = now.status === 200 ? (now.body.status as string) : 'unknown';
        return;
      }
      known.status = status;
      if (status === 'shipped') shop.client.ack({ type: 'ship', order_id: known.id });
    }
  },
};
