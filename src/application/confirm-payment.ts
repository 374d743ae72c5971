import type { Order } from '../domain/order.js';
import { PaymentProviderError } from '../payments/provider.js';
import { findOrder } from '../persistence/order-repository.js';
import { assertCanSee, assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

/**
 * The customer is back from the provider: ask it now, through the one step every road takes, and
 * answer with the order as it then stands (still `awaiting_payment` while the provider says the
 * customer has not finished, or cannot be reached: the webhook or the reconciler will tell). An order
 * that does not wait for its payment is answered as it is.
 */
export async function confirmPayment(
  deps: Deps,
  actor: Actor,
  orderId: string,
  redirectResult: string | null,
): Promise<Order> {
  const id = assertOrderId(orderId);
  const order = assertCanSee(await findOrder(deps.db, id), actor);
  if (order.status !== 'awaiting_payment') return order;
  try {
    return (await settleAwaitingPayment(deps, id, { kind: 'confirm', actor, redirectResult })).order ?? order;
  } catch (err) {
    if (!(err instanceof PaymentProviderError)) throw err;
    deps.logger.warn(
      { err, orderId: id },
      'the provider could not be asked on the customer’s return; the order still waits',
    );
    return (await findOrder(deps.db, id)) ?? order;
  }
}
