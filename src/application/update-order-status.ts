import { errors } from '../domain/errors.js';
import { transition, type Order, type Tracking } from '../domain/order.js';
import type { TrackingStatus } from '../domain/order-status.js';
import { lockOrder } from '../persistence/order-repository.js';
import { emailMessage, eventMessage } from '../domain/messages.js';
import { recordStatusChange } from '../persistence/status-change.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';

const EMAILS = { shipped: 'order_shipped', delivered: 'order_delivered' } as const;

/** Admin tracking: one step along the state machine, recorded and announced in one statement. */
export async function updateOrderStatus(
  deps: Deps,
  actor: Actor,
  orderId: string,
  input: { status: TrackingStatus; tracking?: Tracking | null; note?: string | null },
): Promise<Order> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const current = await lockOrder(trx, id);
    if (!current) throw errors.orderNotFound();
    const { order, change } = transition(current, input.status, actor.sub, now, input.note ?? null, input.tracking ?? undefined);
    const messages = [
      eventMessage('order.status_changed', order, now, { from: change.from, to: change.to }),
      input.status === 'processing' ? null : emailMessage(EMAILS[input.status], order),
    ].filter((m) => m !== null);
    await recordStatusChange(trx, { order, change, messages });
    return order;
  });
}
