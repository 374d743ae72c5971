import { WebhooksHelper } from 'square';
import { header, InvalidSignatureError, parseObject, pick, pickString, text, type VerifiedWebhookEvent, type WebhookEventType, type WebhookHeaders } from './types.js';

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

export function parseSquareEvent(event: Record<string, unknown>): VerifiedWebhookEvent {
  const eventId = pickString(event, 'event_id');
  if (!eventId) throw new InvalidSignatureError('square: event without event_id');
  const providerType = pickString(event, 'type') ?? '';
  const object = pick(event, 'data', 'object');
  const base = { eventId, providerType, raw: event, refundReference: null, reference: null, type: 'ignored' as WebhookEventType };
  switch (providerType) {
    case 'refund.created':
    case 'refund.updated': {
      const status = pickString(object, 'refund', 'status');
      const type = status === 'COMPLETED' ? 'refund.succeeded' : status === 'FAILED' || status === 'REJECTED' ? 'refund.failed' : 'ignored';
      return { ...base, type, reference: pickString(object, 'refund', 'payment_id'), refundReference: pickString(object, 'refund', 'id') };
    }
    case 'dispute.created':
      return { ...base, type: 'dispute.opened', reference: pickString(object, 'dispute', 'disputed_payment', 'payment_id') };
    case 'payment.updated': {
      const status = pickString(object, 'payment', 'status');
      if (status !== 'FAILED' && status !== 'CANCELED') return base;
      return { ...base, type: 'payment.failed', reference: pickString(object, 'payment', 'id') };
    }
    default:
      return base;
  }
}
