import { errors } from '../domain/errors.js';
import { moveReturn, type Return } from '../domain/returns.js';
import { lockOrder } from '../persistence/order-repository.js';
import { lockReturn, saveReturnDecision } from '../persistence/return-repository.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';
import { assertReturnId } from './return-access.js';
import { returnDecided } from '../domain/order-records.js';
import { recordOnOrder } from '../persistence/status-change.js';

/** Support refuses a return: its units may be asked for again, nothing is refunded. */
export async function rejectReturn(
  deps: Deps,
  actor: Actor,
  orderId: string,
  returnId: string,
  input: { note?: string | null },
): Promise<Return> {
  const id = assertOrderId(orderId);
  const rid = assertReturnId(returnId);
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, id);
    if (!order) throw errors.orderNotFound();
    const current = await lockReturn(trx, id, rid);
    if (!current) throw errors.returnNotFound();
    const next = moveReturn(current, 'rejected', now, input.note ?? null);
    await saveReturnDecision(trx, next, actor.sub, null);
    await recordOnOrder(trx, id, returnDecided(order, next, actor.sub, now));
    return next;
  });
}
