import type { Deps } from '../application/deps.js';
import { reconcilePayments } from '../application/reconcile-payments.js';
import { withSpan } from '../observability/tracing.js';
import { createOutageLog } from './outage-log.js';

/**
 * Runs the reconciler at start and then every `intervalMs`: settles charges a
 * crash left `processing` and retries refunds until the provider confirms.
 */
export function startPaymentReconciler(deps: Deps, intervalMs: number): { stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const outage = createOutageLog(deps.logger, 'payment reconciliation pass');
  const tick = async () => {
    try {
      // Drain what is due, a batch at a time: one pass, one trace.
      await withSpan('payment reconciler pass', { root: true }, async () => {
        while (!stopped && (await reconcilePayments(deps)) > 0);
      });
      outage.succeeded();
    } catch (err) {
      outage.failed(err);
    }
    if (!stopped) timer = setTimeout(() => (running = tick()), intervalMs);
  };
  running = tick();

  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
