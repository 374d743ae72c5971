import type { Order } from '../domain/order.js';
import { findOrder } from '../persistence/order-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';

export async function getOrder(deps: Deps, actor: Actor, orderId: string): Promise<Order> {
  return assertCanSee(await findOrder(deps.db, assertOrderId(orderId)), actor);
}
