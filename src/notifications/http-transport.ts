import type { EmailMessage, EmailTransport } from './email.js';

export interface HttpEmailTransportOptions {
  /** EMAIL_URL: the company's email service. */
  url: string;
  timeoutMs: number;
}

/**
 * POSTs the message as JSON to the email service (API.md). The outbox id is
 * the `Idempotency-Key`, so a retry after a lost response is not a second
 * email. Any 2xx is delivered; anything else throws, and the relay retries.
 */
export function createHttpEmailTransport(opts: HttpEmailTransportOptions): EmailTransport {
  return {
    name: 'http',
    async send(m: EmailMessage, signal: AbortSignal): Promise<void> {
      const body = {
        id: m.id,
        to: m.to,
        from: m.from,
        subject: m.subject,
        text: m.text,
        html: m.html,
        order_id: m.order_id,
        kind: m.kind,
      };
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': m.id },
        body: JSON.stringify(body),
        // A hanging email service costs one timeout, never a stuck relay.
        signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
        // A redirect would turn the POST into a GET elsewhere: treat it as a failure, not a success.
        redirect: 'manual',
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel(); // release the connection; the body means nothing to us
        return;
      }
      // A short excerpt helps an operator reading last_error; never the whole (possibly large) body.
      const excerpt = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
      throw new Error(`email service answered HTTP ${res.status}${excerpt ? `: ${excerpt}` : ''}`);
    },
    async close(): Promise<void> {},
  };
}
