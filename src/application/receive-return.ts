import { newId } from '../domain/ids.js';
import { errors } from '../domain/errors.js';
import { refundable } from '../domain/payment.js';
import { moveReturn, type Return } from '../domain/returns.js';
import { readLedgerSums, recordMovement, type Movement } from '../persistence/ledger.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { lockReturn, recordReturnedUnits, saveReturnDecision } from '../persistence/return-repository.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';
import { refundPayment } from './refund-payment.js';
import { assertReturnId } from './return-access.js';
import { returnDecided } from '../domain/order-records.js';
import { recordOnOrder } from '../persistence/status-change.js';

export interface Receipt {
  restock?: boolean;
  note?: string | null;
}

/**
 * Support received the parcel: the units count as returned, go back in stock (unless `restock` is
 * false) and their `refund_amount` is refunded — the refund recorded `pending` in the ledger in the
 * same transaction, then made at the provider and retried by the reconciler until confirmed. The
 * order's and the return's row locks make racing receives queue; the second finds the return
 * already received (409), so each unit is returned and refunded once. A refund never exceeds what
 * is left of the payment: after goodwill refunds, the receipt refunds what remains.
 */
export async function receiveReturn(
  deps: Deps,
  actor: Actor,
  orderId: string,
  returnId: string,
  input: Receipt,
): Promise<Return> {
  const id = assertOrderId(orderId);
  const rid = assertReturnId(returnId);
  const now = deps.clock();
  const restock = input.restock ?? true;
  const { received, movement } = await deps.db.transaction().execute(async (trx) => {
    const locked = await lockOrder(trx, id);
    if (!locked) throw errors.orderNotFound();
    const current = await lockReturn(trx, id, rid);
    if (!current) throw errors.returnNotFound();
    const next = moveReturn(current, 'received', now, input.note ?? null);
    await saveReturnDecision(trx, next, actor.sub, restock);
    await recordReturnedUnits(trx, id, next.items, restock);
    const amount = Math.min(next.refund_amount, refundable(await readLedgerSums(trx, locked.payment.transaction_id)));
    let m: Movement | undefined;
    if (amount > 0) {
      m = await recordMovement(trx, {
        id: newId(),
        transactionId: locked.payment.transaction_id,
        orderId: id,
        kind: 'refund',
        amount,
        currency: locked.payment.currency,
        actor: actor.sub,
        reason: `return ${next.id}`,
        retryInMs: deps.reconcileAfterMs,
        now,
      });
    }
    const order = await findOrder(trx, id);
    if (!order) throw errors.orderNotFound();
    await recordOnOrder(trx, id, returnDecided(order, next, actor.sub, now));
    return { received: next, movement: m };
  });
  if (movement) await refundPayment(deps, movement);
  return received;
}
