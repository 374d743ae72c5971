import { createTransport } from 'nodemailer';
import type { EmailMessage, EmailTransport } from './email.js';

export interface SmtpEmailTransportOptions {
  /** SMTP_URL, e.g. smtp://user:pass@host:587 or smtps://…:465 */
  url: string;
  timeoutMs: number;
}

/**
 * Sends through an SMTP server with nodemailer's pooled transport, so a batch
 * reuses a few connections instead of one handshake per message.
 */
export function createSmtpEmailTransport(opts: SmtpEmailTransportOptions): EmailTransport {
  const mailer = createTransport({
    url: opts.url,
    pool: true,
    maxConnections: 5,
    // nodemailer's defaults (2 min connect, 10 min idle) would hold a claimed batch far past its lease.
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  });
  return {
    name: 'smtp',
    async send(m: EmailMessage, signal: AbortSignal): Promise<void> {
      await mailer.sendMail({
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        // Stable across retries: a receiver (or a mail archive) sees a duplicate as the same message.
        messageId: messageIdFor(m.id, m.from),
        headers: { 'X-Order-Id': m.order_id, 'X-Email-Kind': m.kind },
        signal,
      });
    },
    async close(): Promise<void> {
      mailer.close();
    },
  };
}

/** `<outbox-id@domain-of-EMAIL_FROM>`: RFC 5322 wants a domain the sender controls on the right. */
function messageIdFor(id: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'orders.invalid';
  return `<${id}@${domain}>`;
}
