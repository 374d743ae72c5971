import { errors } from '../domain/errors.js';
import { isOwnerOrAdmin, type Order } from '../domain/order.js';
import type { Actor } from './deps.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id names no order: 404, the same as an id that is not there. */
export function assertOrderId(id: string): string {
  if (!UUID.test(id)) throw errors.orderNotFound();
  return id.toLowerCase();
}

export function assertCanSee(order: Order | undefined, actor: Actor): Order {
  if (!order) throw errors.orderNotFound();
  if (!isOwnerOrAdmin(order, { sub: actor.sub, isAdmin: actor.isAdmin }))
    throw errors.forbidden('This order belongs to someone else.');
  return order;
}
