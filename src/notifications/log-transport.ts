import type { Logger } from '../observability/logger.js';
import type { EmailMessage, EmailTransport } from './email.js';

/**
 * The embedded default (no EMAIL_URL, no SMTP_URL): the rendered email goes to
 * the log, so a developer sees exactly what a customer would receive. The HTML
 * is left out: the text part carries the same content and keeps the log readable.
 */
export function createLogEmailTransport(logger: Logger): EmailTransport {
  return {
    name: 'log',
    async send(m: EmailMessage): Promise<void> {
      logger.info(
        {
          email: {
            id: m.id,
            kind: m.kind,
            order_id: m.order_id,
            to: m.to,
            from: m.from,
            subject: m.subject,
            text: m.text,
          },
        },
        `email ${m.kind} to ${m.to} (log transport: EMAIL_URL and SMTP_URL are unset)`,
      );
    },
    async close(): Promise<void> {},
  };
}
