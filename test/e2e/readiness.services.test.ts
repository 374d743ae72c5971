import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startHttpSink, type HttpSink } from '../helpers/outbox/http-sink.js';
import { freePort } from '../helpers/server-process.js';
import { startEmailGate, type EmailGate } from './support/email-gate.js';
import { startService, tokenFor, uid, type Json, type Service } from './support/service.js';

/**
 * Operations (API.md): /readyz depends on the database only. With the broker
 * unreachable and the email service hanging, the real service stays ready,
 * takes orders (201), and their messages wait in the outbox, retried.
 * (test/disruptive/broker-restart-burst.test.ts does the same with the real broker stopped.)
 */
describe('the real service with the broker and the email service down', () => {
  let sink: HttpSink;
  let gate: EmailGate;
  let svc: Service;

  beforeAll(async () => {
    sink = await startHttpSink();
    gate = await startEmailGate(sink, 'hang');
    const nobody = await freePort(); // nothing listens there: connection refused
    svc = await startService({
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${nobody}`,
      EMAIL_URL: gate.url,
      OUTBOX_DELIVERY_TIMEOUT_MS: '300',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await gate?.close();
    await sink?.close();
  });

  it('/readyz stays 200 and orders are taken (201) while their emails and events wait in the outbox', async () => {
    expect((await svc.call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const token = await tokenFor(uid('ready'));
    const orders: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await svc.createOrder(token);
      expect(res.status).toBe(201);
      orders.push(res.body.id);
      const ready = await svc.call('GET', '/readyz');
      expect(ready.status).toBe(200);
    }
    // Both kinds were tried and failed, and wait for the next attempt: pending, not lost, not dead.
    await waitFor(
      async () => (await svc.outbox('pending')).filter((i: Json) => i.last_error !== null).length >= 6,
      'failed attempts on both kinds',
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${svc.server.output().slice(-3000)}`);
    });
    const pending = await svc.outbox('pending');
    const events = pending.filter((i: Json) => i.kind === 'event');
    const emails = pending.filter((i: Json) => i.kind === 'email');
    expect(events).toHaveLength(3);
    expect(emails).toHaveLength(3);
    for (const e of events)
      expect(e).toMatchObject({ topic: 'order.created', last_error: expect.stringMatching(/ECONNREFUSED/) });
    for (const e of emails)
      expect(e).toMatchObject({ topic: 'order_confirmation', last_error: expect.stringMatching(/timed out|abort/i) });
    expect(await svc.outbox('dead')).toEqual([]);
    expect(gate.hung).toBeGreaterThan(0);

    // Still ready after all those failures, and the metrics show the depth.
    expect((await svc.call('GET', '/readyz')).status).toBe(200);
    const metrics = String((await svc.call('GET', '/metrics')).body);
    expect(metrics).toMatch(/outbox_pending_messages\{kind="event"\} 3/);
    expect(metrics).toMatch(/outbox_pending_messages\{kind="email"\} 3/);
    expect(metrics).toMatch(/outbox_delivery_failures_total\{kind="event"\} [1-9]/);
  }, 40_000);
});
