import { newId } from '../domain/ids.js';
import { errors } from '../domain/errors.js';
import { cancelWhole, refundMade, type Order } from '../domain/order.js';
import { canTransition } from '../domain/order-status.js';
import { planPartialCancel, type CancelUnits } from '../domain/partial-cancel.js';
import { recordCancellation } from '../persistence/cancellation.js';
import { findOrder, findOrderAndLedger, lockOrderAndPayment } from '../persistence/order-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import { cancelItems } from './cancel-items.js';
import type { Actor, Deps } from './deps.js';
import { releasePayment } from './release-payment.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

/**
 * Cancels a pending order. The row lock makes racing cancels queue up: the first records the
 * movement that gives the money back (a refund, or a void of an authorization not yet captured) in
 * the ledger with everything else the cancel writes (one statement, persistence/cancellation.ts);
 * the rest find it cancelled (409). The provider is called after the commit, once, with the
 * movement's id as its idempotency key.
 */
export async function cancelOrder(
  deps: Deps,
  actor: Actor,
  orderId: string,
  reason: string | null,
  items?: readonly CancelUnits[],
): Promise<CancelOutcome> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const cancelled = await deps.db.transaction().execute(async (trx) => {
    // The locks, then the read: units and restock are counted from a read made under the order's lock
    // (a racing partial cancel may have committed while this one waited for it), the money to give
    // back from the ledger's sums under the payment's (persistence/cancellation.ts).
    await lockOrderAndPayment(trx, id);
    const read = await findOrderAndLedger(trx, id);
    const current = assertCanSee(read?.order, actor);
    // An order that waits for its payment ends through the one step that decides those (below).
    if (current.status === 'awaiting_payment') {
      if (items) throw errors.notCancellable(current.status);
      return { awaiting: true as const };
    }
    // With items, only those units; the last units' cancel is the order's cancel below.
    const plan = items ? planPartialCancel(items, assertCancellable(current).items) : null;
    if (plan && !plan.cancelsOrder)
      return { ...(await cancelItems(trx, deps, actor, current, plan, reason, now)), whole: false };
    const move = cancelWhole(current, actor.sub, now, reason, plan?.units);
    const m = await recordCancellation(trx, {
      ...move,
      movementId: newId(),
      // The reconciler stays off until the request had its chance to make it.
      retryInMs: deps.reconcileAfterMs,
      now,
    });
    // How the order will read once the refund is made: its confirmation then need not read it again.
    const refunded =
      m?.kind === 'refund' && read ? refundMade(move.order, read.sums, read.charge, m.amount) : undefined;
    return { order: move.order, movement: m, whole: true, refunded };
  });
  if ('awaiting' in cancelled) return cancelAwaiting(deps, actor, id, reason, items);
  const { order, movement, whole } = cancelled;
  if (!movement) return { order, whole };
  const released = await releasePayment(deps, movement, 'refunded' in cancelled ? cancelled.refunded : undefined);
  return { order: released.order ?? (whole ? order : ((await findOrder(deps.db, id)) ?? order)), whole };
}

/**
 * The owner (or an admin) gives up on an order that waits for its payment: the provider's payment
 * is cancelled where it can be and the order ends, stock back, nothing kept. When the payment
 * completed first the order was placed, and it is cancelled as any pending order is.
 */
async function cancelAwaiting(
  deps: Deps,
  actor: Actor,
  id: string,
  reason: string | null,
  items?: readonly CancelUnits[],
): Promise<CancelOutcome> {
  const r = await settleAwaitingPayment(deps, id, { kind: 'cancel', actor, reason });
  if (r.changed && r.order?.status === 'cancelled') return { order: r.order, whole: true };
  if (r.order?.status === 'pending') return cancelOrder(deps, actor, id, reason, items);
  throw errors.notCancellable(r.order?.status ?? 'cancelled');
}

/** What a cancel did: `whole` when the order itself is now cancelled. */
export interface CancelOutcome {
  order: Order;
  whole: boolean;
}

/** Units can be cancelled while the order is pending, as the whole order can. */
function assertCancellable(order: Order): Order {
  if (!canTransition(order.status, 'cancelled')) throw errors.notCancellable(order.status);
  return order;
}
