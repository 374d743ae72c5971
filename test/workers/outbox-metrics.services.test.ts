import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOutboxMetrics } from '../../src/workers/outbox-metrics.js';
import { createOutboxRelay } from '../../src/workers/outbox-relay.js';
import { startHttpSink, type HttpSink } from '../helpers/outbox/http-sink.js';
import {
  enqueueEmail,
  enqueueEvent,
  makeOrder,
  openTestDb,
  quietLogger,
  testConfig,
  type TestDb,
} from '../helpers/outbox/fixtures.js';

describe('outbox metrics', () => {
  let t: TestDb;
  let sink: HttpSink;
  beforeAll(async () => {
    t = await openTestDb('postgres');
    sink = await startHttpSink();
  });
  afterAll(async () => {
    await sink?.close();
    await t?.close();
  });

  const value = async (registry: Registry, name: string, kind: string) => {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.find((v) => v.labels.kind === kind)?.value;
  };

  it('depth, oldest pending age and dead count from the table; deliveries and failures from the relay', async () => {
    const registry = new Registry();
    const metrics = registerOutboxMetrics(registry, { db: t.db });
    expect(await value(registry, 'outbox_pending_messages', 'email')).toBe(0);
    expect(await value(registry, 'outbox_oldest_pending_age_seconds', 'event')).toBe(0);

    const order = makeOrder();
    const ok = (await enqueueEmail(t.db, 'order_confirmation', order))!;
    const bad = (await enqueueEmail(t.db, 'order_shipped', order))!;
    await enqueueEvent(t.db, 'order.created', order, new Date());
    await enqueueEvent(t.db, 'order.cancelled', order, new Date());
    await sql`update outbox set created_at = now() - interval '90 seconds' where kind = 'event'`.execute(t.db);
    expect(await value(registry, 'outbox_pending_messages', 'email')).toBe(2);
    expect(await value(registry, 'outbox_pending_messages', 'event')).toBe(2);
    expect(await value(registry, 'outbox_oldest_pending_age_seconds', 'event')).toBeGreaterThanOrEqual(90);

    sink.respond = ({ id }) => (id === bad ? 500 : 202);
    const relay = createOutboxRelay({
      db: t.db,
      config: testConfig({ EMAIL_URL: sink.url, OUTBOX_MAX_ATTEMPTS: '1' }),
      logger: quietLogger,
      metrics,
    });
    await relay.runOnce();
    await relay.stop();

    expect(await value(registry, 'outbox_deliveries_total', 'email')).toBe(1);
    expect(await value(registry, 'outbox_delivery_failures_total', 'email')).toBe(1);
    expect(await value(registry, 'outbox_dead_lettered_total', 'email')).toBe(1);
    expect(await value(registry, 'outbox_deliveries_total', 'event')).toBe(0);
    expect(await value(registry, 'outbox_pending_messages', 'email')).toBe(0);
    expect(await value(registry, 'outbox_dead_messages', 'email')).toBe(1);
    expect(await value(registry, 'outbox_pending_messages', 'event')).toBe(2); // no AMQP_URL: they wait
    const text = await registry.metrics();
    expect(text).toContain('outbox_pending_messages{kind="event"} 2');
    expect(text).toContain('outbox_dead_messages{kind="email"} 1');
    expect(ok).toBeTruthy();
  });
});
