import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_KINDS } from '../../src/domain/messages.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/workers/outbox-relay.js';
import { DATABASES } from '../helpers/db.js';
import { startHttpSink, type HttpSink } from '../helpers/outbox/http-sink.js';
import {
  emailExtraFor,
  enqueueEmail,
  makeOrder,
  openTestDb,
  outboxRow,
  quietLogger,
  testConfig,
  waitFor,
  type TestDb,
} from '../helpers/outbox/fixtures.js';

describe.each(DATABASES)('emails over HTTP (%s)', (kind) => {
  let t: TestDb;
  let sink: HttpSink;
  let relay: OutboxRelay | null = null;

  beforeAll(async () => {
    t = await openTestDb(kind);
    sink = await startHttpSink();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = null;
    sink.respond = () => 202;
  });
  afterAll(async () => {
    await sink?.close();
    await t?.close();
  });

  const newRelay = (env: Record<string, string> = {}): OutboxRelay =>
    (relay = createOutboxRelay({ db: t.db, config: testConfig({ EMAIL_URL: sink.url, ...env }), logger: quietLogger }));

  it('delivers every kind with the contract body, JSON content type and the id as Idempotency-Key', async () => {
    const order = makeOrder({ status: 'shipped', tracking: { carrier: 'UPS', number: '1Z999' } });
    const ids = new Map<string, string>();
    for (const k of EMAIL_KINDS) ids.set(k, (await enqueueEmail(t.db, k, order, emailExtraFor(k, order)))!);

    expect(await newRelay().runOnce()).toBe(EMAIL_KINDS.length);

    for (const [k, id] of ids) {
      const req = sink.requests.find((r) => r.body.id === id)!;
      expect(req, k).toBeDefined();
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['idempotency-key']).toBe(id);
      expect(Object.keys(req.body).sort()).toEqual(['from', 'html', 'id', 'kind', 'order_id', 'subject', 'text', 'to']);
      expect(req.body).toMatchObject({
        id,
        kind: k,
        to: 'alice@example.com',
        from: 'Orders <orders@shop.example>',
        order_id: order.id,
      });
      const row = await outboxRow(t.db, id);
      expect(row.status).toBe('delivered');
      expect(row.delivered_at).toBeInstanceOf(Date);
      expect(row.attempts).toBe(1);
    }
    const body = (k: string) => sink.requests.find((r) => r.body.id === ids.get(k))!.body;
    expect(body('order_confirmation').subject).toMatch(/is confirmed$/);
    expect(body('order_confirmation').text).toContain('$52.48');
    expect(body('order_cancelled').text).toContain('refund');
    expect(body('order_shipped').text).toContain('Tracking number: 1Z999');
    expect(body('order_shipped').html).toContain('UPS');
    expect(body('order_delivered').subject).toMatch(/has been delivered$/);
  });

  it('email service down for a while: the message arrives, once, when it is back', async () => {
    const id = (await enqueueEmail(t.db, 'order_confirmation', makeOrder()))!;
    let failures = 0;
    sink.respond = ({ id: reqId }) => (reqId === id && failures++ < 3 ? 503 : 202);
    newRelay().start();
    await waitFor(async () => (await outboxRow(t.db, id)).status === 'delivered', 'delivery after the outage');
    const row = await outboxRow(t.db, id);
    expect(row.attempts).toBe(4);
    expect(row.last_error).toMatch(/HTTP 503/); // the last failure stays on record after the delivery
    expect(sink.accepted.filter((a) => a === id)).toHaveLength(1);
    expect(sink.requests.filter((r) => r.body.id === id).map((r) => r.status)).toEqual([503, 503, 503, 202]);
  });

  it('a hanging email service costs one timeout per attempt, then the message gets through', async () => {
    const id = (await enqueueEmail(t.db, 'order_delivered', makeOrder()))!;
    let hung = false;
    sink.respond = ({ id: reqId }) => (reqId === id && !hung ? ((hung = true), 'hang') : 202);
    const r = newRelay({ OUTBOX_DELIVERY_TIMEOUT_MS: '300' });
    const started = Date.now();
    expect(await r.runOnce()).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    const failed = await outboxRow(t.db, id);
    expect(failed.status).toBe('pending');
    expect(failed.last_error).toMatch(/timed out|abort/i);
    r.start();
    await waitFor(async () => (await outboxRow(t.db, id)).status === 'delivered', 'delivery after the hang');
  });

  it('down for good: dead after OUTBOX_MAX_ATTEMPTS attempts, with the last error kept', async () => {
    const id = (await enqueueEmail(t.db, 'order_cancelled', makeOrder()))!;
    sink.respond = ({ id: reqId }) => (reqId === id ? 500 : 202);
    newRelay({ OUTBOX_MAX_ATTEMPTS: '3' }).start();
    await waitFor(async () => (await outboxRow(t.db, id)).status === 'dead', 'the message to be dead');
    const row = await outboxRow(t.db, id);
    expect(row.attempts).toBe(3);
    expect(row.last_error).toMatch(/HTTP 500/);
    await new Promise((r) => setTimeout(r, 200)); // a dead row is never claimed again
    expect(sink.requests.filter((r) => r.body.id === id)).toHaveLength(3);
  });

  it('a 3xx is not a delivery', async () => {
    const id = (await enqueueEmail(t.db, 'order_confirmation', makeOrder()))!;
    sink.respond = () => 302;
    await newRelay().runOnce();
    expect((await outboxRow(t.db, id)).status).toBe('pending');
    expect((await outboxRow(t.db, id)).last_error).toMatch(/HTTP 302/);
  });
});
