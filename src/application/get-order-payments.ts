import type { LedgerEntry } from '../domain/payment.js';
import { listLedger } from '../persistence/ledger.js';
import { findOrder } from '../persistence/order-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';

/** The order's payment ledger, oldest first: every movement of its money. */
export async function getOrderPayments(deps: Deps, actor: Actor, orderId: string): Promise<{ items: LedgerEntry[] }> {
  const order = assertCanSee(await findOrder(deps.db, assertOrderId(orderId)), actor);
  return { items: await listLedger(deps.db, order.payment.transaction_id) };
}
