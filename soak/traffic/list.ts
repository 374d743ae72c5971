import type { TrafficKind } from './shop.js';

/** A customer pages through their orders: the first page, then the next one when there is one. */
export const list: TrafficKind = {
  name: 'list',
  weight: 4,
  async run(shop, rnd) {
    const user = rnd.pick(shop.users);
    const first = await shop.client.call('list', user, 'GET', '/api/orders?limit=10');
    const cursor = first.status === 200 ? (first.body.next_cursor as string | null) : null;
    if (cursor)
      await shop.client.call('list', user, 'GET', `/api/orders?limit=10&cursor=${encodeURIComponent(cursor)}`);
  },
};
