import type { EmailKind } from '../domain/messages.js';

/** What a template produces. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * One email ready to send: the same fields the HTTP email service receives
 * (API.md, "Messages to other services"). `id` is the outbox row id, stable
 * across retries, so every receiver can drop duplicates.
 */
export interface EmailMessage extends RenderedEmail {
  id: string;
  to: string;
  from: string;
  order_id: string;
  kind: EmailKind;
}

/** Throws when the message was not accepted; the relay then retries it later. */
export interface EmailTransport {
  readonly name: 'http' | 'smtp' | 'log';
  send(message: EmailMessage, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
