import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startHttpSink, type HttpSink, type SinkRequest } from '../helpers/outbox/http-sink.js';
import { startEmailGate, type EmailGate } from './support/email-gate.js';
import { EMAIL_FROM, median, startService, tokenFor, uid, type Json, type Service } from './support/service.js';

/**
 * Emails over HTTP (API.md, "Messages to other services"), end to end: the real service with EMAIL_URL
 * pointing at a local HTTP sink (behind a gate that can make it hang or go
 * away). Each email is POSTed once, with the contract's body and the message
 * id as Idempotency-Key; an order request never waits for the email service.
 */
describe('emails from the real service over HTTP', () => {
  let sink: HttpSink;
  let gate: EmailGate;
  let svc: Service;

  beforeAll(async () => {
    sink = await startHttpSink();
    gate = await startEmailGate(sink);
    svc = await startService({ EMAIL_URL: gate.url, OUTBOX_DELIVERY_TIMEOUT_MS: '300' });
  });
  afterEach(async () => {
    await gate.set('up');
  });
  afterAll(async () => {
    await svc?.stop();
    await gate?.close();
    await sink?.close();
  });

  const requestsFor = (orderId: string): SinkRequest[] => sink.requests.filter((r) => r.body.order_id === orderId);
  const kindsFor = (orderId: string): string[] =>
    requestsFor(orderId)
      .map((r) => String(r.body.kind))
      .sort();
  const mail = (orderId: string, kind: string): Json => {
    const found = requestsFor(orderId).filter((r) => r.body.kind === kind);
    expect(found, `${kind} for ${orderId}`).toHaveLength(1);
    return found[0]!.body;
  };
  const settled = async (): Promise<void> => {
    // Events stay pending here (no AMQP_URL): only emails count.
    await waitFor(
      async () => (await svc.outbox('pending')).every((i: Json) => i.kind !== 'email'),
      'no email pending',
      20_000,
    );
  };

  it('confirmation, cancellation (with the refund), shipped (with the tracking number) and delivered: each POSTed once, contract body, Idempotency-Key = id', async () => {
    const user = uid('mail');
    const token = await tokenFor(user);
    const to = `${user}@example.com`;

    const a = (await svc.createOrder(token)).body;
    await svc.setStatus(a.id, { status: 'processing' });
    const tracking = { carrier: 'UPS', number: '1Z999AA10123456784' };
    await svc.setStatus(a.id, { status: 'shipped', tracking });
    await svc.setStatus(a.id, { status: 'delivered' });
    const b = (await svc.createOrder(token, { email: 'bob@example.org' })).body;
    const cancelled = await svc.cancel(token, b.id, 'too slow');
    expect(cancelled.order.payment.status).toBe('refunded');

    await waitFor(() => requestsFor(a.id).length >= 3 && requestsFor(b.id).length >= 3, 'six emails', 20_000);
    await settled();
    await new Promise((r) => setTimeout(r, 200)); // a second POST of any of them would show now
    expect(kindsFor(a.id)).toEqual(['order_confirmation', 'order_delivered', 'order_shipped']); // none for `processing`
    expect(kindsFor(b.id)).toEqual(['order_cancelled', 'order_confirmation', 'refund_issued']);

    for (const r of [...requestsFor(a.id), ...requestsFor(b.id)]) {
      expect(r.status).toBe(202);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['idempotency-key']).toBe(r.body.id);
      expect(Object.keys(r.body).sort()).toEqual(['from', 'html', 'id', 'kind', 'order_id', 'subject', 'text', 'to']);
      expect(r.body).toMatchObject({ from: EMAIL_FROM, to: r.body.order_id === a.id ? to : 'bob@example.org' });
      for (const part of ['subject', 'text', 'html'] as const) expect(String(r.body[part]).length).toBeGreaterThan(0);
    }
    const ids = [...requestsFor(a.id), ...requestsFor(b.id)].map((r) => String(r.body.id));
    expect(new Set(ids).size).toBe(6);
    // The ids are the outbox's: an admin sees the same six emails, delivered.
    const delivered = (await svc.outbox('delivered')).filter((i: Json) => i.kind === 'email').map((i: Json) => i.id);
    expect(delivered).toEqual(expect.arrayContaining(ids));

    const confirmation = mail(a.id, 'order_confirmation');
    expect(confirmation.subject).toMatch(/is confirmed$/);
    expect(confirmation.text).toContain('$52.48');
    expect(confirmation.text).toContain('T-shirt');
    expect(confirmation.html).toContain('$52.48');

    const shipped = mail(a.id, 'order_shipped');
    expect(shipped.text).toContain(`Tracking number: ${tracking.number}`);
    expect(shipped.html).toContain(tracking.number);
    expect(shipped.html).toContain('UPS');
    expect(mail(a.id, 'order_delivered').subject).toMatch(/has been delivered$/);

    const cancellation = mail(b.id, 'order_cancelled');
    expect(cancellation.text).toMatch(/refund/i);
    expect(cancellation.text).toContain('$52.48');
    expect(cancellation.html).toMatch(/refund/i);
  });

  it('the email service hangs: creating an order is as fast as when it is up; once it is back every email arrives, once', async () => {
    const token = await tokenFor(uid('hang'));
    const create = async (): Promise<{ id: string; ms: number }> => {
      const res = await svc.createOrder(token);
      return { id: res.body.id, ms: res.ms };
    };
    for (let i = 0; i < 5; i++) await create(); // warm-up
    await settled();

    const up: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await create();
      up.push(r.ms);
      ids.push(r.id);
    }
    await settled();

    await gate.set('hang');
    const hanging: number[] = [];
    const heldIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await create();
      hanging.push(r.ms);
      heldIds.push(r.id);
      await new Promise((res) => setTimeout(res, 30)); // give the relay time to be stuck on the sink
    }
    // The relay really was stuck on the hanging service while those orders were created.
    expect(gate.hung).toBeGreaterThan(0);
    expect(heldIds.filter((id) => requestsFor(id).length > 0)).toEqual([]);
    const upMedian = median(up);
    const hangMedian = median(hanging);
    expect(
      hangMedian,
      `median create: ${hangMedian.toFixed(1)} ms hanging vs ${upMedian.toFixed(1)} ms up`,
    ).toBeLessThan(3 * upMedian + 50);

    // Long enough for the relay to have tried (and timed out on) every held email at least once.
    await new Promise((res) => setTimeout(res, 1_000));
    expect(heldIds.filter((id) => requestsFor(id).length > 0)).toEqual([]);
    await gate.set('up');
    await waitFor(
      () => heldIds.every((id) => requestsFor(id).some((r) => r.status === 202)),
      'every held email after the service came back',
      20_000,
    );
    await settled();
    for (const id of [...ids, ...heldIds]) {
      expect(requestsFor(id).map((r) => [r.body.kind, r.status])).toEqual([['order_confirmation', 202]]);
    }
    const held = (await svc.outbox('delivered')).filter((i: Json) =>
      heldIds.some((id) => requestsFor(id)[0]?.body.id === i.id),
    );
    expect(held).toHaveLength(10);
    // Each held one failed at least once on the hanging service before it was delivered: by the
    // delivery timeout, or for the batch in flight when the gate reopened, by the dropped connection.
    for (const item of held) {
      expect(item.attempts).toBeGreaterThanOrEqual(2);
      expect(item.last_error).toBeTypeOf('string');
    }
    expect(held.filter((i: Json) => /timed out/i.test(i.last_error)).length).toBeGreaterThan(0);
  }, 60_000);
});
