import type { Order } from '../domain/order.js';
import { transition } from '../domain/order.js';
import { lockOrder, saveOrderState, appendHistory } from '../persistence/order-repository.js';
import { emailMessage, enqueueAll, eventMessage } from '../persistence/outbox.js';
import { releaseStock } from '../persistence/product-repository.js';
import { lockTransaction, moveTransaction } from '../persistence/transaction-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';
import { refundPayment } from './refund-payment.js';

/**
 * Cancels a pending order. The row lock makes racing cancels queue up: the
 * first moves the order and its payment to `refund_pending`, the rest find it
 * cancelled (409). The refund call happens after the commit, once.
 */
export async function cancelOrder(deps: Deps, actor: Actor, orderId: string, reason: string | null): Promise<Order> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const { order, transaction } = await deps.db.transaction().execute(async (trx) => {
    const current = assertCanSee(await lockOrder(trx, id), actor);
    const { order: next, change } = transition(current, 'cancelled', actor.sub, now, reason);
    const t = await lockTransaction(trx, current.payment.transaction_id);
    if (!t) throw new Error(`order ${id} has no transaction`);
    // The reconciler stays off until the request had its chance to refund.
    await moveTransaction(trx, t.id, 'succeeded', 'refund_pending', { retryInMs: deps.reconcileAfterMs }, now);
    const cancelled: Order = { ...next, payment: { ...next.payment, status: 'refund_pending' } };
    await saveOrderState(trx, cancelled);
    await appendHistory(trx, id, change);
    await releaseStock(trx, cancelled.items);
    await enqueueAll(trx, [emailMessage('order_cancelled', cancelled), eventMessage('order.cancelled', cancelled, now, reason ? { reason } : {})]);
    return { order: cancelled, transaction: { ...t, status: 'refund_pending' as const } };
  });
  const status = await refundPayment(deps, transaction);
  return { ...order, payment: { ...order.payment, status } };
}
