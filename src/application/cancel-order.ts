import { randomUUID } from 'node:crypto';
import type { Order } from '../domain/order.js';
import { transition } from '../domain/order.js';
import { recordCancellation } from '../persistence/cancellation.js';
import { lockOrder } from '../persistence/order-repository.js';
import { emailMessage, eventMessage } from '../domain/messages.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';
import { releasePayment } from './release-payment.js';

/**
 * Cancels a pending order. The row lock makes racing cancels queue up: the first records the
 * movement that gives the money back (a refund, or a void of an authorization not yet captured) in
 * the ledger with everything else the cancel writes (one statement, persistence/cancellation.ts);
 * the rest find it cancelled (409). The provider is called after the commit, once, with the
 * movement's id as its idempotency key.
 */
export async function cancelOrder(deps: Deps, actor: Actor, orderId: string, reason: string | null): Promise<Order> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const { order, movement } = await deps.db.transaction().execute(async (trx) => {
    const current = assertCanSee(await lockOrder(trx, id), actor);
    const { order: next, change } = transition(current, 'cancelled', actor.sub, now, reason);
    const cancelled: Order = { ...next, current_total: 0, items: next.items.map((i) => ({ ...i, quantity_cancelled: i.quantity - i.quantity_returned })) };
    const m = await recordCancellation(trx, {
      order: cancelled,
      change,
      messages: [emailMessage('order_cancelled', cancelled), eventMessage('order.cancelled', cancelled, now, reason ? { reason } : {})].filter((x) => x !== null),
      movementId: randomUUID(),
      // The reconciler stays off until the request had its chance to make it.
      retryInMs: deps.reconcileAfterMs,
      now,
    });
    return { order: cancelled, movement: m };
  });
  if (!movement) return order;
  const pending: Order = { ...order, payment: { ...order.payment, status: movement.kind === 'refund' ? 'refund_pending' : 'processing' } };
  const released = await releasePayment(deps, movement);
  return released.order ?? pending;
}
