import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxRelay, type OutboxRelay } from '../../src/workers/outbox-relay.js';
import { AMQP_URL, consumeOrderEvents, forceCloseConnections, type EventConsumer } from '../helpers/outbox/amqp.js';
import {
  countByStatus,
  enqueueEmail,
  enqueueEvent,
  makeOrder,
  openTestDb,
  outboxRow,
  quietLogger,
  recordingLogger,
  testConfig,
  waitFor,
  type TestDb,
} from '../helpers/outbox/fixtures.js';

describe('events on RabbitMQ', () => {
  let t: TestDb;
  let consumer: EventConsumer;
  let relay: OutboxRelay | null = null;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    consumer = await consumeOrderEvents();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = null;
  });
  afterAll(async () => {
    await consumer?.close();
    await t?.close();
  });

  const received = (ids: Iterable<string>) => {
    const wanted = new Set(ids);
    return consumer.messages.filter((m) => wanted.has(String(m.properties.messageId)));
  };

  it('publishes each event type with the exact body, routing key and properties, after the broker confirmed', async () => {
    const order = makeOrder();
    const at = new Date('2026-11-26T10:00:00.000Z');
    const ids = [
      await enqueueEvent(t.db, 'order.created', order, at),
      await enqueueEvent(t.db, 'order.cancelled', { ...order, status: 'cancelled' }, at),
      await enqueueEvent(t.db, 'order.status_changed', { ...order, status: 'processing' }, at, {
        from: 'pending',
        to: 'processing',
      }),
      await enqueueEvent(t.db, 'payment.refunded', order, at),
    ];
    relay = createOutboxRelay({ db: t.db, config: testConfig({ AMQP_URL }), logger: quietLogger });
    expect(await relay.runOnce()).toBe(4);
    for (const id of ids) expect((await outboxRow(t.db, id)).status).toBe('delivered');

    await waitFor(() => received(ids).length === 4, 'four events');
    for (const id of ids) {
      const msg = received([id])[0]!;
      const stored = (await outboxRow(t.db, id)).payload as { type: string };
      expect(JSON.parse(msg.content.toString('utf8'))).toEqual(stored);
      expect(msg.fields.exchange).toBe('orders');
      expect(msg.fields.routingKey).toBe(stored.type);
      expect(msg.properties.messageId).toBe(id);
      expect(msg.properties.contentType).toBe('application/json');
      expect(msg.properties.deliveryMode).toBe(2); // persistent
    }
    const changed = JSON.parse(received([ids[2]!])[0]!.content.toString('utf8'));
    expect(changed).toMatchObject({
      id: ids[2],
      type: 'order.status_changed',
      occurred_at: at.toISOString(),
      order_id: order.id,
      user_id: 'alice',
    });
    expect(changed.data).toMatchObject({
      id: order.id,
      status: 'processing',
      from: 'pending',
      to: 'processing',
      total: 5248,
    });
  });

  it('the broker dropping the connection during a burst loses nothing: every event arrives', async () => {
    const name = `outbox-test-relay-${randomUUID()}`;
    const logger = recordingLogger();
    relay = createOutboxRelay({ db: t.db, config: testConfig({ AMQP_URL, OUTBOX_BATCH_SIZE: '10' }), logger, name });
    relay.start();
    const ids: string[] = [];
    let closed = 0;
    for (let i = 0; i < 150; i++) {
      ids.push(await enqueueEvent(t.db, 'order.created', makeOrder(), new Date()));
      await new Promise((r) => setTimeout(r, 5));
      // Twice in the burst, the broker closes the relay's connection under it.
      if (i === 50 || i === 100) closed += await forceCloseConnections(name);
    }
    expect(closed).toBe(2);
    await waitFor(
      async () => (await countByStatus(t.db, 'event')).delivered === ids.length + 4,
      'every event delivered',
      30_000,
    );
    await waitFor(
      () => new Set(received(ids).map((m) => m.properties.messageId)).size === ids.length,
      'every event received',
      10_000,
    );
    expect(logger.lines.filter((l) => l.msg?.startsWith('AMQP link dropped')).length).toBeGreaterThanOrEqual(2);
    expect(logger.lines.filter((l) => l.msg === 'AMQP connected').length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a broker that cannot be reached: events are retried, never dropped, and go out once it can', async () => {
    const id = await enqueueEvent(t.db, 'payment.refunded', makeOrder(), new Date());
    const down = createOutboxRelay({
      db: t.db,
      config: testConfig({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' }),
      logger: quietLogger,
    });
    await down.runOnce();
    await down.stop();
    const failed = await outboxRow(t.db, id);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1 });
    expect(failed.last_error).toMatch(/ECONNREFUSED/);

    relay = createOutboxRelay({ db: t.db, config: testConfig({ AMQP_URL }), logger: quietLogger });
    relay.start();
    await waitFor(
      async () => (await outboxRow(t.db, id)).status === 'delivered',
      'delivery once the broker is reachable',
    );
    await waitFor(() => received([id]).length === 1, 'the event');
  });
});

describe('without AMQP_URL', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('events stay pending in the outbox, untouched, while emails go out', async () => {
    const order = makeOrder();
    const eventId = await enqueueEvent(t.db, 'order.created', order, new Date());
    const emailId = (await enqueueEmail(t.db, 'order_confirmation', order))!;
    const relay = createOutboxRelay({ db: t.db, config: testConfig(), logger: quietLogger });
    expect(await relay.runOnce()).toBe(1);
    await relay.stop();
    expect((await outboxRow(t.db, emailId)).status).toBe('delivered');
    expect(await outboxRow(t.db, eventId)).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
  });
});
