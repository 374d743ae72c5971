import pRetry, { AbortError } from 'p-retry';
import { isOk, type Shop } from './shop.js';

/**
 * Adyen tells the merchant everything by notification (authorisations, captures, cancels, refunds,
 * expiries): what its emulator has to say is posted through nginx every half second in one signed
 * batch, each batch retried until `[accepted]`, as Adyen retries. Runs from the first request until
 * `stop()` (after the drain).
 */
export function startAdyenNotifier(shop: Shop): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const batch = shop.emulators.adyen.delivery();
      if (batch)
        await pRetry(
          async () => {
            if (stopped) throw new AbortError('the soak is over');
            const answer = await shop.client.webhook('adyen', batch);
            if (!isOk(answer)) throw new Error(`adyen notification answered ${answer.status}`);
          },
          { retries: 1000, minTimeout: 500, maxTimeout: 5000, maxRetryTime: 600_000 },
        ).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
