import { newId } from '../domain/ids.js';
import { errors } from '../domain/errors.js';
import { priceReturn, withinReturnWindow, type Return, type ReturnItem } from '../domain/returns.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { deliveredAt, insertReturn, returnableLines } from '../persistence/return-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';
import { returnRequested } from '../domain/order-records.js';
import { recordOnOrder } from '../persistence/status-change.js';

export interface ReturnRequest {
  items: readonly ReturnItem[];
  reason?: string | null;
}

/**
 * Asks for units of a delivered order back. The order's row lock makes racing requests queue, so
 * each one counts the units already in returns after the previous one committed: together they
 * never ask back more than was delivered.
 */
export async function requestReturn(deps: Deps, actor: Actor, orderId: string, input: ReturnRequest): Promise<Return> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const order = assertCanSee(await lockOrder(trx, id), actor);
    if (order.status !== 'delivered')
      throw errors.notReturnable(`An order in status ${order.status} cannot be returned; only a delivered one can.`);
    const delivered = await deliveredAt(trx, id);
    if (!delivered || !withinReturnWindow(delivered, now, deps.returnWindowDays)) {
      throw errors.notReturnable(
        `Returns are accepted for ${deps.returnWindowDays} days after delivery; that time has passed.`,
      );
    }
    const priced = priceReturn(input.items, await returnableLines(trx, id));
    const at = now.toISOString();
    const ret: Return = {
      id: newId(),
      order_id: id,
      status: 'requested',
      items: priced.items.map((i) => ({ product_id: i.product_id, quantity: i.quantity })),
      refund_amount: priced.refund_amount,
      reason: input.reason ?? null,
      note: null,
      created_at: at,
      updated_at: at,
    };
    await insertReturn(trx, ret, priced.items, actor.sub);
    // Read again under the lock: the locking statement saw the order as it was before it waited.
    const current = (await findOrder(trx, id)) ?? order;
    await recordOnOrder(trx, id, returnRequested(current, ret, actor.sub, now));
    return ret;
  });
}
