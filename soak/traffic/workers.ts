import type { Random } from '../random.js';
import { TRAFFIC } from './index.js';
import type { Shop } from './shop.js';

/**
 * `count` customers and support agents, each picking a kind of traffic by its weight from its own
 * seeded stream, while `more()` says so. A kind that throws is a bug of the soak: counted in the
 * request log as `soak error`, never hidden.
 */
export async function runWorkers(shop: Shop, rnd: Random, count: number, more: () => boolean): Promise<void> {
  const worker = async (n: number) => {
    const mine = rnd.fork(n);
    while (more()) {
      const kind = mine.weighted(TRAFFIC);
      try {
        await kind.run(shop, mine);
      } catch (err) {
        shop.client.records.push({
          kind: kind.name,
          at: shop.client.now(),
          ms: 0,
          status: 'soak error',
          code: (err as Error).message,
          write: false,
        });
      }
      await new Promise((r) => setTimeout(r, mine.int(10, 80)));
    }
  };
  await Promise.all(Array.from({ length: count }, (_, n) => worker(n)));
}
