/**
 * What the application does about an event. `refund.updated`: some refund of the payment was
 * made or changed at the provider (ours, or one from its dashboard); `dispute.updated`: a dispute
 * was opened or moved on. Either way the application asks the provider (`refunds()`,
 * `disputes()`) for the amounts and states: nothing in a webhook body is trusted for money.
 * `payment.failed`: the provider failed a payment after the fact (Stripe's
 * `payment_intent.payment_failed`, a Square payment FAILED, a denied PayPal capture).
 * `payment.updated`: a payment that may be waiting for its customer moved on (Stripe's
 * `payment_intent.succeeded`, `.amount_capturable_updated`, `.canceled`; PayPal's
 * `CHECKOUT.ORDER.APPROVED`); the application asks the provider what it now is.
 */
export type WebhookAction = 'refund.updated' | 'dispute.updated' | 'payment.failed' | 'payment.updated' | 'ignored';

/**
 * What every provider's webhook verifier returns: the event reduced to what
 * the service acts on. Verification happens over the raw bytes the provider
 * sent; nothing here trusts a field before the signature checked out.
 */
export interface VerifiedWebhookEvent {
  /** The provider's event id: deliveries are at least once, so this is the dedup key. */
  eventId: string;
  /** What to do about the event. */
  action: WebhookAction;
  /**
   * The provider's id of the payment concerned, as the ledger knows it: the PaymentIntent, the
   * Square payment, the PayPal capture (a refund's or dispute's payment, not the refund or dispute).
   */
  reference: string | null;
  /** The provider's refund id, for refund events. */
  refundReference: string | null;
  /** The provider's dispute id, for dispute events. */
  disputeReference: string | null;
  /** The provider's own event type (`charge.refunded`, `PAYMENT.CAPTURE.REFUNDED`, …), for logs. */
  providerType: string;
  /** The parsed event body as the provider sent it. */
  raw: unknown;
}

/** Node's / Fastify's `request.headers`: lower-case names. */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

export type WebhookVerifier = (rawBody: Buffer | string, headers: WebhookHeaders) => Promise<VerifiedWebhookEvent>;

/** The signature is missing, malformed or does not match the body: answer 400 invalid_signature. */
export class InvalidSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSignatureError';
  }
}

export function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function text(rawBody: Buffer | string): string {
  return typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
}

/** A JSON object after the signature verified; anything else cannot be an event. */
export function parseObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidSignatureError('webhook body is not JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidSignatureError('webhook body is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** Reads a nested field of untyped JSON without trusting its shape. */
export function pick(value: unknown, ...path: (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

export function pickString(value: unknown, ...path: (string | number)[]): string | null {
  const v = pick(value, ...path);
  return typeof v === 'string' && v !== '' ? v : null;
}
