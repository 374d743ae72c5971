import { errors } from '../domain/errors.js';
import { eventMessage } from '../domain/messages.js';
import { moveReturn, type Return } from '../domain/returns.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { enqueueAll } from '../persistence/outbox.js';
import { lockReturn, recordReturnedUnits, saveReturnDecision } from '../persistence/return-repository.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';
import { assertReturnId } from './return-access.js';

export interface Receipt {
  restock?: boolean;
  note?: string | null;
}

/**
 * Support received the parcel: the units count as returned and (unless `restock` is false) go
 * back in stock. The order's and the return's row locks make racing receives queue; the second
 * finds the return already received (409), so each unit is returned once.
 */
export async function receiveReturn(deps: Deps, actor: Actor, orderId: string, returnId: string, input: Receipt): Promise<Return> {
  const id = assertOrderId(orderId);
  const rid = assertReturnId(returnId);
  const now = deps.clock();
  const restock = input.restock ?? true;
  return deps.db.transaction().execute(async (trx) => {
    if (!(await lockOrder(trx, id))) throw errors.orderNotFound();
    const current = await lockReturn(trx, id, rid);
    if (!current) throw errors.returnNotFound();
    const next = moveReturn(current, 'received', now, input.note ?? null);
    await saveReturnDecision(trx, next, actor.sub, restock);
    await recordReturnedUnits(trx, id, next.items, restock);
    const order = await findOrder(trx, id);
    if (!order) throw errors.orderNotFound();
    await enqueueAll(trx, [eventMessage('order.return_received', order, now, { return: next })]);
    return next;
  });
}
