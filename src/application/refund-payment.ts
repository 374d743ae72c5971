import { retryDelayMs } from '../domain/retry-schedule.js';
import { RefundFailedError } from '../payments/provider.js';
import { findOrder } from '../persistence/order-repository.js';
import { enqueueEvent } from '../persistence/outbox.js';
import { lockTransaction, moveTransaction, scheduleRetry, type PaymentTransaction } from '../persistence/transaction-repository.js';
import type { Deps } from './ports.js';

export const REFUND_RETRY = { baseMs: 5_000, maxMs: 15 * 60_000 };

/**
 * Refunds what is left of a `refund_pending` payment. The refund id is the
 * transaction id, so however often this runs (request, reconciler, webhook
 * hint), the provider makes one refund. Returns the status it ends in.
 */
export async function refundPayment(deps: Deps, t: PaymentTransaction): Promise<'refunded' | 'refund_pending'> {
  const remaining = t.amount - t.amount_refunded;
  if (!t.provider_reference || remaining <= 0) return settleRefund(deps, t.id);
  const provider = deps.payments.get(t.provider);
  try {
    const r = await provider.refund({ transactionId: t.id, refundId: t.id, reference: t.provider_reference, amount: remaining, currency: t.currency });
    deps.metrics.refunds.inc({ provider: t.provider, outcome: r.status });
    if (r.status === 'pending') {
      await scheduleRetry(deps.db, t.id, retryDelayMs(t.attempts, REFUND_RETRY), 'refund pending at the provider');
      return 'refund_pending';
    }
    return settleRefund(deps, t.id);
  } catch (err) {
    if (err instanceof RefundFailedError) {
      // Retrying the same refund gives the same answer: park it for a person, loudly.
      deps.metrics.refunds.inc({ provider: t.provider, outcome: 'failed' });
      deps.logger.error({ err, transactionId: t.id }, 'refund refused by the provider; needs attention');
      await scheduleRetry(deps.db, t.id, 24 * 3600_000, `refund refused: ${err.message}`);
      return 'refund_pending';
    }
    deps.metrics.refunds.inc({ provider: t.provider, outcome: 'error' });
    deps.logger.warn({ err, transactionId: t.id }, 'refund failed; will retry');
    await scheduleRetry(deps.db, t.id, retryDelayMs(t.attempts, REFUND_RETRY), err instanceof Error ? err.message : String(err));
    return 'refund_pending';
  }
}

/** The provider confirmed: `refunded`, and other services hear of it (when there is an order). */
export async function settleRefund(deps: Deps, transactionId: string): Promise<'refunded' | 'refund_pending'> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const t = await lockTransaction(trx, transactionId);
    if (!t) return 'refund_pending';
    if (t.status === 'refunded') return 'refunded';
    const moved = await moveTransaction(trx, t.id, 'refund_pending', 'refunded', { amount_refunded: t.amount, failure_reason: null }, now);
    if (!moved) return 'refund_pending';
    const order = await findOrder(trx, t.order_id);
    if (order) await enqueueEvent(trx, 'payment.refunded', order, now, { refund: { amount: t.amount - t.amount_refunded, currency: t.currency } });
    return 'refunded';
  });
}
