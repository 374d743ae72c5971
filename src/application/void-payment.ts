import type { Order } from '../domain/order.js';
import { PaymentDeclinedError } from '../payments/provider.js';
import { lockMovement, scheduleMovementRetry, settleMovement, type Movement } from '../persistence/ledger.js';
import { findOrder } from '../persistence/order-repository.js';
import { recordOnOrder } from '../persistence/status-change.js';
import type { Deps } from './deps.js';
import { NOTIFIED_RETRY_MS } from './capture-payment.js';
import { reconcilerRetryDelay } from './reconciler-retry.js';
import { releaseRefused, voided } from '../domain/order-records.js';

export type VoidOutcome =
  { status: 'succeeded'; order: Order | undefined } | { status: 'pending' } | { status: 'failed' };

/**
 * Releases an authorization nothing was captured from (a cancel before shipment, an abandoned
 * charge), by its `pending` void row: the row's id is the provider's idempotency key, so request and
 * reconciler release it once. No refund, no fee.
 */
export async function voidPayment(deps: Deps, m: Movement): Promise<VoidOutcome> {
  if (!m.payment_reference) return settleVoid(deps, m.id);
  const provider = deps.payments.get(m.provider);
  try {
    const result = await provider.void({
      transactionId: m.transaction_id,
      voidId: m.id,
      reference: m.payment_reference,
    });
    if (result?.pending) {
      // Adyen: its CANCELLATION notification settles the row; asked again only if none comes.
      await scheduleMovementRetry(deps.db, m.id, NOTIFIED_RETRY_MS, 'waiting for the provider to notify the outcome');
      return { status: 'pending' };
    }
  } catch (err) {
    if (err instanceof PaymentDeclinedError) {
      // Captured after all (a crash hid it): nothing to release; a person decides about the money.
      deps.logger.error(
        { err, movementId: m.id, transactionId: m.transaction_id },
        'void refused by the provider; needs attention',
      );
      await failVoid(deps, m, err);
      return { status: 'failed' };
    }
    deps.logger.warn({ err, movementId: m.id, transactionId: m.transaction_id }, 'void failed; will retry');
    await scheduleMovementRetry(
      deps.db,
      m.id,
      reconcilerRetryDelay(deps, m.attempts),
      err instanceof Error ? err.message : String(err),
    );
    return { status: 'pending' };
  }
  deps.faults?.afterCapture?.();
  return settleVoid(deps, m.id);
}

/** The provider released it: the row `succeeded`, and `payment.voided` in the same transaction. */
export async function settleVoid(deps: Deps, movementId: string): Promise<VoidOutcome> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx): Promise<VoidOutcome> => {
    const m = await lockMovement(trx, movementId);
    if (!m) return { status: 'pending' };
    if (m.status === 'succeeded') return { status: 'succeeded', order: await findOrder(trx, m.order_id) };
    if (!(await settleMovement(trx, m.id, 'void', 'pending', 'succeeded', {}, now))) return { status: 'pending' };
    const order = await findOrder(trx, m.order_id);
    if (order) await recordOnOrder(trx, order.id, voided(order, m, now));
    return { status: 'succeeded', order };
  });
}

export async function failVoid(
  deps: Deps,
  m: Pick<Movement, 'id' | 'order_id'>,
  err: PaymentDeclinedError,
): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    if (!(await settleMovement(trx, m.id, 'void', 'pending', 'failed', {}, now))) return;
    const order = await findOrder(trx, m.order_id);
    if (order)
      await recordOnOrder(trx, order.id, releaseRefused(order, err.declineCode ?? 'declined', err.message, now));
  });
}
