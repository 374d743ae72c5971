import { created, type Order } from '../domain/order.js';
import type { NextAction } from '../domain/payment.js';
import type { PaymentAction } from '../payments/provider.js';
import { findOrder } from '../persistence/order-repository.js';
import { settleNewOrder } from '../persistence/settlement.js';
import type { Deps } from './deps.js';
import { orderFromDraft, type ChargedTransaction } from './settle-charge.js';
import { errors } from '../domain/errors.js';

/**
 * The provider needs the customer (3-D Secure, a redirect, an approval): the order is written
 * `awaiting_payment`, holding the stock its reservation took, with no `order.created` and no email.
 * The charge stays `processing`; settle-awaiting-payment.ts ends it, whichever road comes first.
 */
export async function awaitCustomer(
  deps: Deps,
  t: Pick<ChargedTransaction, 'id' | 'provider' | 'draft'>,
  reference: string,
  action: PaymentAction,
  now: Date,
): Promise<Order> {
  const d = t.draft;
  // The order waits PAYMENT_ACTION_TIMEOUT_SECONDS, or until the provider's own later expiry.
  const timeout = new Date(now.getTime() + deps.actionTimeoutMs);
  const expiresAt = action.expiresAt && action.expiresAt > timeout ? action.expiresAt : timeout;
  const nextAction: NextAction = {
    type: 'redirect',
    url: action.url,
    expires_at: expiresAt.toISOString(),
    client_secret: action.clientSecret,
    provider_data: action.providerData,
  };
  const paid = orderFromDraft(
    { ...t, amount: d.total, currency: d.currency },
    { reference, authorizationExpiresAt: null },
    now,
  );
  const order: Order = {
    ...paid,
    status: 'awaiting_payment',
    payment: {
      ...paid.payment,
      status: 'requires_action',
      amount_authorized: 0,
      amount_captured: 0,
      authorization_expires_at: null,
      next_action: nextAction,
    },
  };
  // The reconciler asks the provider once the request's own window has passed (a webhook lost), and at the expiry.
  const askAt = new Date(Math.min(expiresAt.getTime(), now.getTime() + Math.max(deps.reconcileAfterMs, 1_000)));
  const written = await settleNewOrder(deps.db, {
    reference,
    order,
    ...created(order, now),
    key: d.idempotency_key ? { userId: d.user_id, key: d.idempotency_key } : null,
    authorizationExpiresAt: null,
    awaiting: { nextAction, expiresAt, askAt },
    now,
  });
  if (written) return order;
  // The reconciler got to this charge first (a request slower than its lease): what it made is the answer.
  const existing = await findOrder(deps.db, d.order_id);
  if (existing) return existing;
  throw errors.providerError();
}
