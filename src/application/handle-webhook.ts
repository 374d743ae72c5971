import type { ProviderId } from '../domain/payment.js';
import { hurryPendingMovements } from '../persistence/ledger.js';
import { appendHistory, lockOrder } from '../persistence/order-repository.js';
import { findTransactionByReference } from '../persistence/transaction-repository.js';
import { recordWebhookEvent } from '../persistence/webhook-events.js';
import type { Deps } from './ports.js';

/** A provider's webhook, verified and reduced to what we act on. */
export interface WebhookEvent {
  eventId: string;
  type: 'refund.succeeded' | 'refund.failed' | 'dispute.opened' | 'payment.failed' | 'ignored';
  /** The provider's id of the payment the event is about (PaymentIntent, Square payment, PayPal capture). */
  reference: string | null;
}

export type WebhookOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * Applies a webhook once. Events are hints, not truth: a refund event makes the
 * reconciler look now, and it asks the provider for the current state before
 * moving anything. Disputes and late failures are flagged in the order's
 * history for a person to act on.
 */
export async function handleWebhook(deps: Deps, provider: ProviderId, event: WebhookEvent): Promise<WebhookOutcome> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx): Promise<WebhookOutcome> => {
    if (!(await recordWebhookEvent(trx, provider, event.eventId, event.type))) return 'duplicate';
    if (event.type === 'ignored' || !event.reference) return 'ignored';

    const t = await findTransactionByReference(trx, provider, event.reference);
    if (!t) return 'ignored';

    if (event.type === 'refund.succeeded' || event.type === 'refund.failed') {
      return (await hurryPendingMovements(trx, t.id, 'refund')) > 0 ? 'applied' : 'ignored';
    }

    const order = await lockOrder(trx, t.order_id);
    if (!order) return 'ignored';
    const note = event.type === 'dispute.opened' ? `${provider}: dispute opened (${event.eventId})` : `${provider}: payment failed after capture (${event.eventId})`;
    await appendHistory(trx, order.id, { to: order.status, at: now.toISOString(), actor: `provider:${provider}`, note });
    deps.logger.warn({ orderId: order.id, provider, event: event.type }, 'payment event needs attention');
    return 'applied';
  });
}
