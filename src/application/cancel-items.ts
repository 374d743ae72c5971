import { newId } from '../domain/ids.js';
import type { Order } from '../domain/order.js';
import type { CancelPlan } from '../domain/partial-cancel.js';
import { refundable } from '../domain/payment.js';
import { readLedgerSums, recordMovement, type Movement } from '../persistence/ledger.js';
import { findOrder } from '../persistence/order-repository.js';
import { cancelUnits } from '../persistence/partial-cancellation.js';
import { recordOnOrder } from '../persistence/status-change.js';
import type { Db } from '../persistence/tables.js';
import type { Actor, Deps } from './deps.js';
import { itemsCancelled } from '../domain/order-records.js';

/**
 * The part of a partial cancel that leaves units in the order, inside the cancel's transaction
 * (which holds the order's row lock, so the plan was made on the lines as they are): the units
 * cancelled and restocked, and their amount given back. Captured money (immediate capture) is
 * refunded — a `pending` ledger row written here, made at the provider after the commit — as far as
 * any is left after earlier refunds; money only authorized (shipment capture) is simply never
 * captured, since the capture takes `current_total`.
 */
export async function cancelItems(
  trx: Db,
  deps: Deps,
  actor: Actor,
  order: Order,
  plan: CancelPlan,
  reason: string | null,
  now: Date,
): Promise<{ order: Order; movement: Movement | undefined }> {
  await cancelUnits(trx, order.id, plan.units, now);
  const sums = await readLedgerSums(trx, order.payment.transaction_id);
  const amount = sums.captured > 0 ? Math.min(plan.amount, refundable(sums)) : 0;
  let movement: Movement | undefined;
  if (amount > 0) {
    movement = await recordMovement(trx, {
      id: newId(),
      transactionId: order.payment.transaction_id,
      orderId: order.id,
      kind: 'refund',
      amount,
      currency: order.payment.currency,
      actor: actor.sub,
      reason: reason ?? 'items cancelled',
      // The reconciler stays off until the request had its chance to make it.
      retryInMs: deps.reconcileAfterMs,
      now,
    });
  }
  const after = await findOrder(trx, order.id);
  if (!after) throw new Error(`order ${order.id} vanished under its lock`);
  // The history says who took which units out, as it says who changed the status; the event carries them.
  await recordOnOrder(trx, order.id, itemsCancelled(after, plan.units, reason, actor.sub, now));
  return { order: after, movement };
}
