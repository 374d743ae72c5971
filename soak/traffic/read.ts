import { pickOrder, type TrafficKind } from './shop.js';

/** A customer looks at one of their orders (its status refreshes what the shop knows). */
export const read: TrafficKind = {
  name: 'read',
  weight: 6,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, rnd.pick(['pending', 'shipped', 'delivered', 'cancelled', 'processing']));
    if (!known) return;
    const answer = await shop.client.call('read', known.user, 'GET', `/api/orders/${known.id}`);
    if (answer.status === 200) known.status = answer.body.status as string;
  },
};
