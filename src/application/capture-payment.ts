import { DomainError, errors } from '../domain/errors.js';
import { canTransition } from '../domain/order-status.js';
import { captureDeclined, capturedAfterMove, captureRequested, moveOnCapture } from '../domain/order-records.js';
import type { Order, Tracking } from '../domain/order.js';
import { PaymentDeclinedError } from '../payments/provider.js';
import { lockMovement, scheduleMovementRetry, settleMovement, type Movement } from '../persistence/ledger.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { recordOnOrder, recordStatusChange } from '../persistence/status-change.js';
import type { Deps } from './deps.js';
import { reconcilerRetryDelay } from './reconciler-retry.js';

/** What a capture is for, kept on its ledger row: the move to `shipped` that waits for the money. */
export interface ShipIntent {
  status: 'shipped';
  tracking: Tracking | null;
  note: string | null;
  actor: string;
}

export type CaptureOutcome =
  | { status: 'succeeded'; order: Order }
  /** The provider refused: the row `failed`, the order where it was, its history saying why. */
  | { status: 'declined'; error: DomainError }
  /** The outcome is unknown (timeout, 5xx): the row stays `pending` and the reconciler retries it. */
  | { status: 'pending' }
  /** The provider took the request and tells the outcome later (Adyen's CAPTURE notification): the order as it stands. */
  | { status: 'submitted'; order: Order };

/** How long a capture, void or refund whose outcome the provider will notify waits before it is asked again. */
export const NOTIFIED_RETRY_MS = 15 * 60_000;

/**
 * Makes a `pending` capture at the provider with the row's id as its idempotency key, then records
 * what the provider said. Run by the move to `shipped` and, after a crash or an outage, by the
 * reconciler: either way the provider captures once and the order ships once.
 */
export async function capturePayment(deps: Deps, m: Movement): Promise<CaptureOutcome> {
  if (!m.payment_reference) throw new Error(`capture ${m.id}: the payment has no authorization reference`);
  const provider = deps.payments.get(m.provider);
  let reference: string;
  try {
    const result = await provider.capture({
      transactionId: m.transaction_id,
      captureId: m.id,
      reference: m.payment_reference,
      amount: m.amount,
      currency: m.currency,
    });
    if (result.pending) return { status: 'submitted', order: await awaitNotification(deps, m) };
    ({ reference } = result);
  } catch (err) {
    if (err instanceof PaymentDeclinedError) {
      deps.metrics.payments.inc({ provider: m.provider, outcome: 'capture_declined' });
      return { status: 'declined', error: await declineCapture(deps, m.id, err) };
    }
    deps.metrics.payments.inc({ provider: m.provider, outcome: 'capture_error' });
    deps.logger.warn({ err, movementId: m.id, transactionId: m.transaction_id }, 'capture failed; will retry');
    await scheduleMovementRetry(
      deps.db,
      m.id,
      reconcilerRetryDelay(deps, m.attempts),
      err instanceof Error ? err.message : String(err),
    );
    return { status: 'pending' };
  }
  deps.metrics.payments.inc({ provider: m.provider, outcome: 'captured' });
  deps.faults?.afterCapture?.();
  return { status: 'succeeded', order: await finishCapture(deps, m.id, reference) };
}

/**
 * The provider will say how the capture ended (Adyen): the row stays `pending`, asked again (same
 * idempotency key) only if no notification came after a while; the order's history says it waits.
 */
async function awaitNotification(deps: Deps, m: Movement): Promise<Order> {
  deps.metrics.payments.inc({ provider: m.provider, outcome: 'capture_submitted' });
  await scheduleMovementRetry(deps.db, m.id, NOTIFIED_RETRY_MS, 'waiting for the provider to notify the outcome');
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, m.order_id);
    if (!order) throw new Error(`capture ${m.id}: no order ${m.order_id}`);
    if (m.attempts === 0) {
      const actor = (m.context as ShipIntent | null)?.actor ?? 'system';
      await recordOnOrder(trx, order.id, captureRequested(order, m, m.provider, actor, now));
    }
    return (await findOrder(trx, order.id)) ?? order;
  });
}

/**
 * The money is captured: the row `succeeded` and, in the same transaction, the move it was for —
 * the order `shipped`, its history, its messages and `payment.captured`. A second confirmation (the
 * reconciler after the request, or the other way round) finds the row settled and the order shipped.
 */
export async function finishCapture(deps: Deps, movementId: string, reference: string): Promise<Order> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const m = await lockMovement(trx, movementId);
    if (!m) throw new Error(`capture ${movementId} vanished`);
    // The order's lock first, as every writer of an order takes it, then the row's move.
    const locked = await lockOrder(trx, m.order_id);
    if (!locked) throw new Error(`capture ${movementId}: no order ${m.order_id}`);
    if (!(await settleMovement(trx, m.id, 'capture', 'pending', 'succeeded', { providerReference: reference }, now)))
      return locked;
    const paid = (await findOrder(trx, m.order_id))!;
    const intent = m.context as ShipIntent | null;
    if (!intent || !canTransition(paid.status, intent.status)) {
      // The order moved on meanwhile (it cannot, while a capture is pending, but the money is real): say so.
      await recordOnOrder(trx, paid.id, capturedAfterMove(paid, m, now));
      return paid;
    }
    const move = moveOnCapture(paid, intent, m, now);
    await recordStatusChange(trx, move);
    return move.order;
  });
}

/** The provider refused the capture: the row `failed`, and the order's history says why; it stays where it was. */
export async function declineCapture(deps: Deps, movementId: string, err: PaymentDeclinedError): Promise<DomainError> {
  const now = deps.clock();
  const code = err.declineCode ?? 'capture_declined';
  await deps.db.transaction().execute(async (trx) => {
    const m = await lockMovement(trx, movementId);
    if (!m) return;
    const order = await lockOrder(trx, m.order_id);
    if (!(await settleMovement(trx, m.id, 'capture', 'pending', 'failed', {}, now)) || !order) return;
    const actor = (m.context as ShipIntent | null)?.actor ?? 'system';
    await recordOnOrder(trx, order.id, captureDeclined(order, code, err.message, actor, now));
  });
  return errors.paymentDeclined(err.message || 'The capture was declined.', code);
}
