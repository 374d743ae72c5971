import type { ProviderId } from '../domain/payment.js';
import { errors } from '../domain/errors.js';
import {
  PaymentProviderError,
  type PaymentQuery,
  type ProviderDispute,
  type ProviderRefund,
} from '../payments/provider.js';
import type { WebhookAction } from '../payments/webhooks/types.js';
import { findMovementByReference } from '../persistence/ledger.js';
import { lockOrder } from '../persistence/order-repository.js';
import { recordOnOrder } from '../persistence/status-change.js';
import {
  findTransaction,
  findTransactionByReference,
  lockTransaction,
  type PaymentTransaction,
} from '../persistence/transaction-repository.js';
import { isWebhookEventRecorded, recordWebhookEvent } from '../persistence/webhook-events.js';
import type { Deps } from './deps.js';
import { learnDisputes, learnRefunds } from './provider-money.js';
import { paymentFailedAfterCapture } from '../domain/order-records.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

/** A provider's webhook, verified and reduced to what we act on. */
export interface WebhookEvent {
  eventId: string;
  action: WebhookAction;
  /** The provider's id of the payment the event is about, as the ledger knows it (PaymentIntent, Square payment, PayPal capture). */
  reference: string | null;
}

export type WebhookOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * Applies a webhook once. Events are hints, not truth: for a refund or a dispute the provider is
 * asked (`refunds()`, `disputes()`) and its answer written into the ledger, with the event's id
 * recorded in the same transaction — so a delivery whose work failed is delivered again and
 * redone, and a duplicate changes nothing. Events for payments we do not know are acknowledged and
 * ignored. A provider that cannot answer makes the webhook fail (503): the provider delivers again.
 */
export async function handleWebhook(deps: Deps, provider: ProviderId, event: WebhookEvent): Promise<WebhookOutcome> {
  if (await isWebhookEventRecorded(deps.db, provider, event.eventId)) return 'duplicate';
  const t = event.reference ? await paymentOf(deps, provider, event.reference) : undefined;
  if (!t || event.action === 'ignored') return record(deps, provider, event, 'ignored');
  // A payment that waited for its customer: the one step that decides those asks the provider.
  if (
    t.status === 'processing' &&
    t.action_expires_at !== null &&
    (event.action === 'payment.updated' || event.action === 'payment.failed')
  ) {
    await settleAwaiting(deps, t);
    return record(deps, provider, event, 'applied');
  }
  if (event.action === 'payment.updated') return record(deps, provider, event, 'ignored');

  const truth = await askProvider(deps, provider, event.action, { reference: event.reference!, currency: t.currency });
  const now = deps.clock();
  return deps.db.transaction().execute(async (trx): Promise<WebhookOutcome> => {
    if (!(await recordWebhookEvent(trx, provider, event.eventId, event.action))) return 'duplicate';
    // Every writer of an order's money holds its lock first; a payment that never became an order, its own.
    const order = await lockOrder(trx, t.order_id);
    if (!order) await lockTransaction(trx, t.id);
    // `applied`: the provider was asked and the ledger agrees with it now, whether or not anything changed.
    if ('refunds' in truth) return (await learnRefunds(trx, t, truth.refunds, now), 'applied');
    if ('disputes' in truth) return (await learnDisputes(trx, t, truth.disputes, now), 'applied');
    if (!order) return 'ignored';
    await recordOnOrder(trx, order.id, paymentFailedAfterCapture(order, provider, event.eventId, now));
    deps.logger.warn({ orderId: order.id, provider, event: event.action }, 'payment event needs attention');
    return 'applied';
  });
}

async function settleAwaiting(deps: Deps, t: PaymentTransaction): Promise<void> {
  try {
    await settleAwaitingPayment(deps, t.order_id, { kind: 'webhook' });
  } catch (err) {
    if (!(err instanceof PaymentProviderError)) throw err;
    deps.logger.warn(
      { err, transactionId: t.id },
      'the provider could not be asked about a webhook; it will deliver again',
    );
    throw errors.serviceUnavailable(
      'The payment provider could not be asked about this event; deliver it again later.',
    );
  }
}

/** The payment a reference names: the charge's own, or a later capture's (PayPal captures have their own ids). */
async function paymentOf(deps: Deps, provider: ProviderId, reference: string): Promise<PaymentTransaction | undefined> {
  const byCharge = await findTransactionByReference(deps.db, provider, reference);
  if (byCharge) return byCharge;
  const capture = await findMovementByReference(deps.db, 'capture', reference);
  return capture && capture.provider === provider ? findTransaction(deps.db, capture.transaction_id) : undefined;
}

/** The provider's truth about the payment's refunds or disputes; unreachable, the webhook fails and comes again. */
type Truth = { refunds: ProviderRefund[] } | { disputes: ProviderDispute[] } | Record<string, never>;

async function askProvider(
  deps: Deps,
  provider: ProviderId,
  action: WebhookAction,
  query: PaymentQuery,
): Promise<Truth> {
  const payments = deps.payments.get(provider);
  try {
    if (action === 'refund.updated') return { refunds: await payments.refunds(query) };
    if (action === 'dispute.updated') return { disputes: await payments.disputes(query) };
    return {};
  } catch (err) {
    deps.logger.warn(
      { err, provider, action },
      'the provider could not be asked about a webhook; it will deliver again',
    );
    throw errors.serviceUnavailable(
      'The payment provider could not be asked about this event; deliver it again later.',
    );
  }
}

async function record(
  deps: Deps,
  provider: ProviderId,
  event: WebhookEvent,
  outcome: WebhookOutcome,
): Promise<WebhookOutcome> {
  return (await recordWebhookEvent(deps.db, provider, event.eventId, event.action)) ? outcome : 'duplicate';
}
