import type { Return } from '../domain/returns.js';
import { findOrder } from '../persistence/order-repository.js';
import { listReturns as listOrderReturns } from '../persistence/return-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';

/** An order's returns, oldest first, for its owner or an admin. */
export async function listReturns(deps: Deps, actor: Actor, orderId: string): Promise<{ items: Return[] }> {
  const id = assertOrderId(orderId);
  assertCanSee(await findOrder(deps.db, id), actor);
  return { items: await listOrderReturns(deps.db, id) };
}
