import { WebhooksHelper } from 'square';
import { baseEventOf } from './base-event.js';
import {
  header,
  InvalidSignatureError,
  parseObject,
  pick,
  pickString,
  text,
  type VerifiedWebhookEvent,
  type WebhookHeaders,
} from './types.js';

/**
 * Square webhooks: `x-square-hmacsha256-signature` is HMAC-SHA256 of the
 * notification URL (SQUARE_WEBHOOK_URL, the public URL Square posts to) followed
 * by the raw body, keyed with SQUARE_WEBHOOK_SIGNATURE_KEY. The SDK's
 * WebhooksHelper.verifySignature checks it (it returns a promise).
 */
export async function verifySquareWebhook(
  rawBody: Buffer | string,
  headers: WebhookHeaders,
  settings: { webhookSignatureKey: string; webhookUrl: string },
): Promise<VerifiedWebhookEvent> {
  const signature = header(headers, 'x-square-hmacsha256-signature');
  if (!signature) throw new InvalidSignatureError('square: no x-square-hmacsha256-signature header');
  const body = text(rawBody);
  const valid = await WebhooksHelper.verifySignature({
    requestBody: body,
    signatureHeader: signature,
    signatureKey: settings.webhookSignatureKey,
    notificationUrl: settings.webhookUrl,
  });
  if (!valid) throw new InvalidSignatureError('square: signature does not match');
  return parseSquareEvent(parseObject(body));
}

function parseSquareEvent(event: Record<string, unknown>): VerifiedWebhookEvent {
  const base = baseEventOf(event, 'square', { id: 'event_id', type: 'type' });
  const { providerType } = base;
  const object = pick(event, 'data', 'object');
  if (providerType === 'refund.created' || providerType === 'refund.updated') {
    return {
      ...base,
      action: 'refund.updated',
      reference: pickString(object, 'refund', 'payment_id'),
      refundReference: pickString(object, 'refund', 'id'),
    };
  }
  // dispute.created, dispute.state.updated (dispute.state.changed before 2023), dispute.evidence.*
  if (providerType.startsWith('dispute.')) {
    return {
      ...base,
      action: 'dispute.updated',
      reference: pickString(object, 'dispute', 'disputed_payment', 'payment_id'),
      disputeReference: pickString(object, 'dispute', 'id') ?? pickString(object, 'dispute', 'dispute_id'),
    };
  }
  if (providerType === 'payment.updated') {
    const payment = pick(object, 'payment');
    const status = pickString(payment, 'status');
    const reference = pickString(payment, 'id');
    if (status === 'FAILED' || (status === 'CANCELED' && pickString(payment, 'card_details', 'status') !== 'VOIDED')) {
      return { ...base, action: 'payment.failed', reference };
    }
    // A released authorization (our void, or its delay ran out) is CANCELED too, and no failure.
    // A refund of the payment shows as its refund_ids / refunded_money changing.
    const refunds = pick(payment, 'refund_ids');
    if ((Array.isArray(refunds) && refunds.length > 0) || pick(payment, 'refunded_money') !== undefined) {
      return { ...base, action: 'refund.updated', reference };
    }
    return base;
  }
  return base;
}
