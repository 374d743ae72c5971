import Stripe from 'stripe';
import { baseEvent } from './base-event.js';
import { header, InvalidSignatureError, pickString, type VerifiedWebhookEvent, type WebhookHeaders } from './types.js';

/**
 * Stripe webhooks: `Stripe-Signature` (timestamp + HMAC-SHA256 of the raw body
 * with STRIPE_WEBHOOK_SECRET) checked by the SDK's constructEventAsync, which
 * also rejects deliveries older than its 5-minute tolerance (replays).
 */
export async function verifyStripeWebhook(
  rawBody: Buffer | string,
  headers: WebhookHeaders,
  settings: { webhookSecret: string },
): Promise<VerifiedWebhookEvent> {
  const signature = header(headers, 'stripe-signature');
  if (!signature) throw new InvalidSignatureError('stripe: no Stripe-Signature header');
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(rawBody, signature, settings.webhookSecret);
  } catch (err) {
    throw new InvalidSignatureError(`stripe: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseStripeEvent(event);
}

/** `payment_intent` fields are ids, or objects when expanded. */
function intentId(object: unknown): string | null {
  return pickString(object, 'payment_intent') ?? pickString(object, 'payment_intent', 'id');
}

function parseStripeEvent(event: Stripe.Event): VerifiedWebhookEvent {
  const object: unknown = event.data.object;
  const base = baseEvent(event.id, event.type, event);
  switch (event.type) {
    case 'refund.created':
    case 'refund.updated':
    case 'refund.failed':
    case 'charge.refund.updated':
      return {
        ...base,
        action: 'refund.updated',
        reference: intentId(object),
        refundReference: pickString(object, 'id'),
      };
    // The charge, refunded in part or in full (a dashboard refund sends this and refund.created).
    case 'charge.refunded':
      return { ...base, action: 'refund.updated', reference: intentId(object) };
    case 'charge.dispute.created':
    case 'charge.dispute.updated':
    case 'charge.dispute.closed':
    case 'charge.dispute.funds_withdrawn':
    case 'charge.dispute.funds_reinstated':
      return {
        ...base,
        action: 'dispute.updated',
        reference: intentId(object),
        disputeReference: pickString(object, 'id'),
      };
    case 'payment_intent.payment_failed':
      return { ...base, action: 'payment.failed', reference: pickString(object, 'id') };
    // An intent that waited for its customer (3-D Secure, a redirect) completed or was canceled.
    case 'payment_intent.succeeded':
    case 'payment_intent.amount_capturable_updated':
    case 'payment_intent.canceled':
      return { ...base, action: 'payment.updated', reference: pickString(object, 'id') };
    default:
      return base;
  }
}
