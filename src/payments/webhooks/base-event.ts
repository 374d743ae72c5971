import { InvalidSignatureError, pickString, type VerifiedWebhookEvent } from './types.js';

/**
 * An event before its provider's parser has read its type: ignored, naming no payment, refund or
 * dispute. Each parser spreads it and sets only what its event type acts on, so an event type it
 * does not know stays ignored.
 */
export function baseEvent(eventId: string, providerType: string, raw: unknown): VerifiedWebhookEvent {
  return {
    eventId,
    providerType,
    raw,
    reference: null,
    refundReference: null,
    disputeReference: null,
    action: 'ignored',
  };
}

/**
 * The base of an event whose body is our parsed JSON (Square, PayPal), with its id and type read
 * from the provider's field names. An event without an id is refused: the id is the dedup key.
 */
export function baseEventOf(
  event: Record<string, unknown>,
  provider: string,
  fields: { id: string; type: string },
): VerifiedWebhookEvent {
  const eventId = pickString(event, fields.id);
  if (!eventId) throw new InvalidSignatureError(`${provider}: event without ${fields.id}`);
  return baseEvent(eventId, pickString(event, fields.type) ?? '', event);
}
