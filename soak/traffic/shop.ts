import pRetry, { AbortError } from 'p-retry';
import type { Emulators } from '../../test/emulators/index.js';
import type { Random } from '../random.js';
import type { Answer, ShopClient } from './client.js';

/**
 * What the shop's clients know and share: the catalog, the orders they were told about, and the
 * emulators, through which the world outside acts (a buyer approving a PayPal order, a refund made
 * in a provider's dashboard). One kind of traffic is one file exporting a TrafficKind (traffic/index.ts).
 */
export interface KnownOrder {
  id: string;
  user: string;
  provider: string;
  items: { product_id: string; quantity: number }[];
  /** The status we last saw; the service's is the truth. */
  status: string;
  /** The instance that placed it authorized only (PAYMENT_CAPTURE=shipment). */
  authorizedOnly: boolean;
}

export interface Shop {
  client: ShopClient;
  emulators: Emulators;
  products: { id: string; price: number }[];
  users: readonly string[];
  orders: Map<string, KnownOrder>;
  /** What the latest deploy set; instances not yet redeployed may still run the other. */
  captureMode: 'immediate' | 'shipment';
  /** Deliveries still being retried (a provider retries a webhook for days); the drain waits for them. */
  background: Set<Promise<unknown>>;
  /** False once the traffic stops: background retries give up at their own pace. */
  running: boolean;
}

export interface TrafficKind {
  name: string;
  /** How often it is chosen, relative to the others. */
  weight: number;
  run(shop: Shop, rnd: Random): Promise<void>;
}

/** Worth the same request again: no answer, an overloaded or failing service, or the first attempt still running. */
const retryable = (a: Answer) =>
  a.status === 'timeout' ||
  a.status === 'network' ||
  a.status >= 500 ||
  a.status === 429 ||
  (a.status === 409 && a.body?.code === 'idempotency_in_progress');

/**
 * The request again (same key, same body) until it gets an answer worth keeping, with backoff, as a
 * careful client does; `maxMs` bounds it (the last answer is returned then).
 */
export async function untilAnswered(send: () => Promise<Answer>, maxMs = 60_000): Promise<Answer> {
  let last: Answer = { status: 'network', body: null };
  try {
    return await pRetry(
      async () => {
        last = await send();
        if (retryable(last)) throw new Error(`retryable ${last.status}`);
        return last;
      },
      { retries: 1000, minTimeout: 200, maxTimeout: 2000, factor: 1.6, maxRetryTime: maxMs, randomize: true },
    );
  } catch (err) {
    if (err instanceof AbortError) throw err;
    return last;
  }
}

export function pickOrder(
  shop: Shop,
  rnd: Random,
  status: string,
  filter: (o: KnownOrder) => boolean = () => true,
): KnownOrder | undefined {
  const candidates = [...shop.orders.values()].filter((o) => o.status === status && filter(o));
  return candidates.length ? rnd.pick(candidates.slice(-200)) : undefined;
}

export const isOk = (a: Answer) => typeof a.status === 'number' && a.status >= 200 && a.status < 300;
