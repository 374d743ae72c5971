import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEvent } from '../../src/persistence/outbox.js';
import { createOutboxRelay } from '../../src/workers/outbox-relay.js';
import { AMQP_URL } from './support/amqp.js';
import { countByStatus, makeOrder, openTestDb, quietLogger, testConfig, waitFor, type TestDb } from './support/fixtures.js';

const run = promisify(execFile);

/**
 * Stops and restarts the machine's RabbitMQ application (rabbitmqctl
 * stop_app/start_app), which disturbs anything else using the broker at the
 * time, so it runs only when asked: OUTBOX_TEST_BROKER_RESTART=1. The default
 * suite covers the same client path with a broker-forced close
 * (events-amqp.test.ts); this one adds a real outage with refused connections.
 */
describe.runIf(process.env.OUTBOX_TEST_BROKER_RESTART === '1')('broker stopped and restarted during a burst', () => {
  let t: TestDb;
  const queue = `outbox-test-restart-${randomUUID()}`;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    // Durable, so it and the persistent messages in it survive the restart; x-expires cleans up a forgotten one.
    const conn = await connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.assertExchange('orders', 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-expires': 300_000 } });
    await ch.bindQueue(queue, 'orders', '#');
    await conn.close();
  });
  afterAll(async () => {
    await run('rabbitmqctl', ['start_app']).catch(() => undefined);
    const conn = await connect(AMQP_URL).catch(() => null);
    if (conn) {
      await (await conn.createChannel()).deleteQueue(queue).catch(() => undefined);
      await conn.close().catch(() => undefined);
    }
    await t?.close();
  });

  it('every event committed during the outage arrives after the broker is back', async () => {
    const relay = createOutboxRelay({ db: t.db, config: testConfig({ AMQP_URL, OUTBOX_BACKOFF_MAX_MS: '500', OUTBOX_MAX_ATTEMPTS: '1000' }), logger: quietLogger });
    relay.start();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 120; i++) {
        ids.push(await enqueueEvent(t.db, 'order.created', makeOrder(), new Date()));
        await new Promise((r) => setTimeout(r, 10));
        if (i === 30) await run('rabbitmqctl', ['stop_app']);
        if (i === 90) await run('rabbitmqctl', ['start_app']);
      }
      await waitFor(async () => (await countByStatus(t.db, 'event')).delivered === ids.length, 'every event delivered', 60_000).catch(async (err) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(await countByStatus(t.db, 'event'))}`);
      });
    } finally {
      await relay.stop();
    }
    const conn = await connect(AMQP_URL);
    const ch = await conn.createChannel();
    const got = new Set<string>();
    for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) got.add(String(m.properties.messageId));
    await conn.close();
    expect(ids.filter((id) => !got.has(id))).toEqual([]);
  }, 120_000);
});
