import { type Client } from '@paypal/paypal-server-sdk';
import { PaymentProviderError } from '../provider.js';
import { paypalCall } from '../paypal-errors.js';
import { baseEventOf } from './base-event.js';
import {
  header,
  InvalidSignatureError,
  parseObject,
  pickString,
  text,
  type VerifiedWebhookEvent,
  type WebhookHeaders,
} from './types.js';

/**
 * PayPal webhooks: the SDK has no verifier, so we ask PayPal's
 * /v1/notifications/verify-webhook-signature with the paypal-transmission-*
 * headers, our PAYPAL_WEBHOOK_ID and the event. The request goes through the
 * SDK client (its OAuth token, timeout, retries and the PAYPAL_API_BASE agent).
 *
 * The event is sent as the exact bytes received, spliced into the request
 * body, not re-serialized: PayPal signs what it sent.
 */
const HEADERS = {
  auth_algo: 'paypal-auth-algo',
  cert_url: 'paypal-cert-url',
  transmission_id: 'paypal-transmission-id',
  transmission_sig: 'paypal-transmission-sig',
  transmission_time: 'paypal-transmission-time',
} as const;

export async function verifyPayPalWebhook(
  rawBody: Buffer | string,
  headers: WebhookHeaders,
  client: Client,
  settings: { webhookId: string },
): Promise<VerifiedWebhookEvent> {
  const fields: Record<string, string> = {};
  for (const [field, name] of Object.entries(HEADERS)) {
    const value = header(headers, name);
    if (!value) throw new InvalidSignatureError(`paypal: no ${name} header`);
    fields[field] = value;
  }
  const body = text(rawBody);
  const event = parseObject(body); // also guarantees the splice below is exactly one JSON value
  const request = `${JSON.stringify({ ...fields, webhook_id: settings.webhookId }).slice(0, -1)},"webhook_event":${body}}`;

  const answer = await paypalCall(client, async () => {
    const rb = client.getRequestBuilderFactory()('POST', '/v1/notifications/verify-webhook-signature');
    rb.header('Content-Type', 'application/json');
    rb.text(request);
    rb.authenticate([{ oauth2: true }]);
    return (await rb.callAsText()).result;
  });
  let status: unknown;
  try {
    status = (JSON.parse(answer) as { verification_status?: unknown }).verification_status;
  } catch {
    throw new PaymentProviderError('paypal: verify-webhook-signature answered something other than JSON');
  }
  if (status !== 'SUCCESS') throw new InvalidSignatureError(`paypal: verification_status ${String(status)}`);
  return parsePayPalEvent(event);
}

/** The capture a refund belongs to: PayPal links it as rel "up". */
function upCaptureId(resource: unknown): string | null {
  const links = (resource as { links?: { rel?: unknown; href?: unknown }[] } | null)?.links;
  const up = Array.isArray(links) ? links.find((l) => l.rel === 'up' && typeof l.href === 'string') : undefined;
  const m = typeof up?.href === 'string' ? /\/captures\/([^/?]+)/.exec(up.href) : null;
  return m?.[1] ?? null;
}

function parsePayPalEvent(event: Record<string, unknown>): VerifiedWebhookEvent {
  const base = baseEventOf(event, 'paypal', { id: 'id', type: 'event_type' });
  const { providerType } = base;
  const resource = event.resource;
  switch (providerType) {
    case 'PAYMENT.CAPTURE.REFUNDED': // resource: the refund
      return {
        ...base,
        action: 'refund.updated',
        reference: upCaptureId(resource),
        refundReference: pickString(resource, 'id'),
      };
    case 'PAYMENT.REFUND.FAILED':
    case 'PAYMENT.REFUND.CANCELLED':
      return {
        ...base,
        action: 'refund.updated',
        reference: upCaptureId(resource),
        refundReference: pickString(resource, 'id'),
      };
    // resource: an order the service created, which the buyer approved at PayPal: it is captured
    // (or authorized) by the one step every road takes, never from this body.
    case 'CHECKOUT.ORDER.APPROVED':
      return { ...base, action: 'payment.updated', reference: pickString(resource, 'id') };
    case 'PAYMENT.CAPTURE.DENIED': // resource: the capture
      return { ...base, action: 'payment.failed', reference: pickString(resource, 'id') };
    // resource: the reversal, a refund PayPal made (a chargeback, a reversal), linked to its capture;
    // it is listed with the capture's refunds.
    case 'PAYMENT.CAPTURE.REVERSED':
      return {
        ...base,
        action: 'refund.updated',
        reference: upCaptureId(resource),
        refundReference: pickString(resource, 'id'),
      };
    case 'CUSTOMER.DISPUTE.CREATED':
    case 'CUSTOMER.DISPUTE.UPDATED':
    case 'CUSTOMER.DISPUTE.RESOLVED':
      return {
        ...base,
        action: 'dispute.updated',
        reference: pickString(resource, 'disputed_transactions', 0, 'seller_transaction_id'),
        disputeReference: pickString(resource, 'dispute_id'),
      };
    default:
      return base;
  }
}
