import type { Order } from '../domain/order.js';
import { transition } from '../domain/order.js';
import { recordCancellation } from '../persistence/cancellation.js';
import { lockOrder } from '../persistence/order-repository.js';
import { emailMessage, eventMessage } from '../domain/messages.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';
import { refundPayment } from './refund-payment.js';

/**
 * Cancels a pending order. The row lock makes racing cancels queue up: the
 * first moves the order and its payment to `refund_pending` (one statement for
 * all it writes, persistence/cancellation.ts), the rest find it cancelled (409).
 * The refund call happens after the commit, once.
 */
export async function cancelOrder(deps: Deps, actor: Actor, orderId: string, reason: string | null): Promise<Order> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const { order, transaction } = await deps.db.transaction().execute(async (trx) => {
    const current = assertCanSee(await lockOrder(trx, id), actor);
    const { order: next, change } = transition(current, 'cancelled', actor.sub, now, reason);
    const cancelled: Order = { ...next, payment: { ...next.payment, status: 'refund_pending' } };
    const t = await recordCancellation(trx, {
      order: cancelled,
      change,
      messages: [emailMessage('order_cancelled', cancelled), eventMessage('order.cancelled', cancelled, now, reason ? { reason } : {})].filter((m) => m !== null),
      // The reconciler stays off until the request had its chance to refund.
      retryInMs: deps.reconcileAfterMs,
      now,
    });
    if (!t) throw new Error(`order ${id} has no transaction`);
    return { order: cancelled, transaction: { ...t, status: 'refund_pending' as const } };
  });
  const status = await refundPayment(deps, transaction);
  return { ...order, payment: { ...order.payment, status } };
}
