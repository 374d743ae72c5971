import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/outbox/smtp-sink.js';
import { startService, tokenFor, uid, type Json, type Service } from './support/service.js';

/**
 * Emails over SMTP (API.md, "Messages to other services"), end to end: the real service with SMTP_URL
 * pointing at a local SMTP server (`smtp-server`). The outbox id becomes the
 * Message-ID, and X-Order-Id / X-Email-Kind say what the mail is about.
 */
describe('emails from the real service over SMTP', () => {
  let sink: SmtpSink;
  let svc: Service;

  beforeAll(async () => {
    sink = await startSmtpSink();
    svc = await startService({ SMTP_URL: sink.url, EMAIL_FROM: 'Orders <orders@shop.example>' });
  });
  afterAll(async () => {
    await svc?.stop();
    await sink?.close();
  });

  const mailsFor = (orderId: string): ReceivedMail[] => sink.mails.filter((m) => m.headers['x-order-id'] === orderId);

  it('confirmation on create and cancellation (with the refund) on cancel, each sent once, with the outbox id as Message-ID', async () => {
    const user = uid('smtp');
    const token = await tokenFor(user);
    const order = (await svc.createOrder(token)).body;
    await waitFor(() => mailsFor(order.id).length >= 1, 'the confirmation', 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${svc.server.output().slice(-3000)}`);
    });
    await svc.cancel(token, order.id, 'wrong size');
    await waitFor(() => mailsFor(order.id).length >= 2, 'the cancellation', 20_000);
    await waitFor(
      async () => (await svc.outbox('pending')).every((i: Json) => i.kind !== 'email'),
      'no email pending',
      20_000,
    );
    await new Promise((r) => setTimeout(r, 200)); // a duplicate would show now

    const mails = mailsFor(order.id);
    expect(mails.map((m) => m.headers['x-email-kind']).sort()).toEqual([
      'order_cancelled',
      'order_confirmation',
      'refund_issued',
    ]);
    const emailItems = (await svc.outbox('delivered')).filter((i: Json) => i.kind === 'email');
    for (const m of mails) {
      expect(m.to).toEqual([`${user}@example.com`]);
      expect(m.from).toBe('orders@shop.example');
      expect(m.headers.from).toBe('Orders <orders@shop.example>');
      const id = /^<([0-9a-f-]{36})@shop\.example>$/.exec(m.headers['message-id'] ?? '')?.[1];
      expect(id, m.headers['message-id']).toBeDefined();
      // The Message-ID carries the outbox id: the admin listing has it, delivered, with its kind.
      expect(emailItems.find((i: Json) => i.id === id)).toMatchObject({
        status: 'delivered',
        topic: m.headers['x-email-kind'],
      });
      expect(m.text.length).toBeGreaterThan(0);
      expect(m.html).toMatch(/<html/i);
    }
    const confirmation = mails.find((m) => m.headers['x-email-kind'] === 'order_confirmation')!;
    expect(confirmation.headers.subject).toMatch(/is confirmed$/);
    expect(confirmation.text).toContain('$52.48');
    expect(confirmation.html).toContain('$52.48');
    const cancellation = mails.find((m) => m.headers['x-email-kind'] === 'order_cancelled')!;
    expect(cancellation.text).toMatch(/refund/i);
    expect(cancellation.text).toContain('$52.48');
  });
});
