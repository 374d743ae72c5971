import { findOrder, listHistory } from '../persistence/order-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';

export async function getOrderHistory(deps: Deps, actor: Actor, orderId: string) {
  const id = assertOrderId(orderId);
  assertCanSee(await findOrder(deps.db, id), actor);
  return { items: await listHistory(deps.db, id) };
}
