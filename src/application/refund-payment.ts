import type { Order } from '../domain/order.js';
import { RefundFailedError } from '../payments/provider.js';
import { findMovement, scheduleMovementRetry, settleMovement, type Movement } from '../persistence/ledger.js';
import { findOrder, lockOrderAndPayment } from '../persistence/order-repository.js';
import { settleRefundAsRecorded } from '../persistence/refund-as-recorded.js';
import { refundConfirmed } from '../domain/order-records.js';
import { recordOnOrder } from '../persistence/status-change.js';
import type { Deps } from './deps.js';
import { NOTIFIED_RETRY_MS } from './capture-payment.js';
import { reconcilerRetryDelay } from './reconciler-retry.js';

export type RefundOutcome =
  /** The provider confirmed; the order as it reads now (undefined when the charge never became one). */
  { status: 'succeeded'; order: Order | undefined } | { status: 'pending' };

/**
 * Makes a `pending` refund of the ledger at the provider. Its id is the provider's idempotency key,
 * so however often this runs (request, reconciler, webhook hint) the provider makes one refund; the
 * row was written before, in the transaction that decided the refund (cancel, return, admin refund).
 * `made`: the order as it will read once this refund is made, when the caller knows it (the cancel
 * that recorded the refund): the confirmation then writes without reading the order again, as long
 * as nothing moved since (persistence/refund-as-recorded.ts).
 */
export async function refundPayment(deps: Deps, m: Movement, made?: Order): Promise<RefundOutcome> {
  if (!m.payment_reference) return settleRefund(deps, m, null, made);
  const provider = deps.payments.get(m.provider);
  try {
    const r = await provider.refund({
      transactionId: m.transaction_id,
      refundId: m.id,
      reference: m.payment_reference,
      amount: m.amount,
      currency: m.currency,
    });
    deps.metrics.refunds.inc({ provider: m.provider, outcome: r.status });
    if (r.status === 'pending') {
      await scheduleMovementRetry(
        deps.db,
        m.id,
        Math.max(reconcilerRetryDelay(deps, m.attempts), notifiedDelay(m.provider)),
        'refund pending at the provider',
      );
      return { status: 'pending' };
    }
    return settleRefund(deps, m, r.reference, made);
  } catch (err) {
    if (err instanceof RefundFailedError) {
      // Retrying the same refund gives the same answer: park it for a person, loudly.
      deps.metrics.refunds.inc({ provider: m.provider, outcome: 'failed' });
      deps.logger.error(
        { err, movementId: m.id, transactionId: m.transaction_id },
        'refund refused by the provider; needs attention',
      );
      await scheduleMovementRetry(deps.db, m.id, 24 * 3600_000, `refund refused: ${err.message}`);
      return { status: 'pending' };
    }
    deps.metrics.refunds.inc({ provider: m.provider, outcome: 'error' });
    deps.logger.warn({ err, movementId: m.id, transactionId: m.transaction_id }, 'refund failed; will retry');
    await scheduleMovementRetry(
      deps.db,
      m.id,
      reconcilerRetryDelay(deps, m.attempts),
      err instanceof Error ? err.message : String(err),
    );
    return { status: 'pending' };
  }
}

/** Adyen answers every refund `received` and notifies the outcome: asking again sooner only gets `received` again. */
const notifiedDelay = (provider: string) => (provider === 'adyen' ? NOTIFIED_RETRY_MS : 0);

/**
 * The provider confirmed the refund: its row `succeeded`, and other services hear of it once
 * (`payment.refunded` with the refund), in the same transaction. The move is guarded by the status
 * it moves from, so of racing confirmations (the request, the reconciler, a webhook) one moves it
 * and writes the messages; the others wait for its row lock, find it moved and change nothing. What
 * the messages say of the refund (order, amount, currency) never changes once recorded (migration 007).
 */
async function settleRefund(
  deps: Deps,
  m: Movement,
  reference: string | null,
  made: Order | undefined,
): Promise<RefundOutcome> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx): Promise<RefundOutcome> => {
    if (made) {
      await lockOrderAndPayment(trx, m.order_id);
      const { messages } = refundConfirmed(made, m, now);
      if (await settleRefundAsRecorded(trx, { movementId: m.id, providerReference: reference, messages, now }))
        return { status: 'succeeded', order: made };
    }
    if (!(await settleMovement(trx, m.id, 'refund', 'pending', 'succeeded', { providerReference: reference }, now))) {
      const settled = (await findMovement(trx, m.id))?.status === 'succeeded';
      return settled ? { status: 'succeeded', order: await findOrder(trx, m.order_id) } : { status: 'pending' };
    }
    const order = await findOrder(trx, m.order_id);
    if (order) await recordOnOrder(trx, order.id, refundConfirmed(order, m, now));
    return { status: 'succeeded', order };
  });
}
