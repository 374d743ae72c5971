import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxRelay } from '../../src/workers/outbox-relay.js';
import { AMQP_URL } from '../helpers/outbox/amqp.js';
import {
  countByStatus,
  enqueueEvent,
  makeOrder,
  openTestDb,
  quietLogger,
  testConfig,
  waitFor,
  type TestDb,
} from '../helpers/outbox/fixtures.js';
import {
  declareDurableQueue,
  deleteQueue,
  drainQueue,
  ensureBrokerUp,
  startBroker,
  stopBroker,
} from './support/broker.js';

/**
 * The relay on its own (no HTTP), with the machine's RabbitMQ stopped and
 * restarted for real (rabbitmqctl stop_app/start_app) in the middle of a burst:
 * refused connections, not just a dropped one. Disruptive: runs alone, after
 * the main suite (vitest.disruptive.config.ts). The main suite covers the same
 * client path with a broker-forced close (test/workers/outbox-relay-amqp.services.test.ts).
 */
describe('broker stopped and restarted during a burst (relay alone)', () => {
  let t: TestDb;
  const queue = `outbox-test-restart-${randomUUID()}`;

  beforeAll(async () => {
    await ensureBrokerUp();
    t = await openTestDb('postgres');
    await declareDurableQueue(queue); // durable: it and the persistent messages in it survive the restart
  }, 120_000);
  afterAll(async () => {
    try {
      await ensureBrokerUp();
    } finally {
      await deleteQueue(queue);
      await t?.close();
    }
  }, 150_000);

  it('every event committed during the outage arrives after the broker is back', async () => {
    const relay = createOutboxRelay({
      db: t.db,
      config: testConfig({ AMQP_URL, OUTBOX_BACKOFF_MAX_MS: '500', OUTBOX_MAX_ATTEMPTS: '1000' }),
      logger: quietLogger,
    });
    relay.start();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 120; i++) {
        ids.push(await enqueueEvent(t.db, 'order.created', makeOrder(), new Date()));
        await new Promise((r) => setTimeout(r, 10));
        if (i === 30) await stopBroker();
        if (i === 90) await startBroker();
      }
      await waitFor(
        async () => (await countByStatus(t.db, 'event')).delivered === ids.length,
        'every event delivered',
        60_000,
      ).catch(async (err) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(await countByStatus(t.db, 'event'))}`);
      });
    } finally {
      await relay.stop();
    }
    const got = new Set((await drainQueue(queue)).map((m) => m.messageId));
    expect(ids.filter((id) => !got.has(id))).toEqual([]);
  }, 180_000);
});
