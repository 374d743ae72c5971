import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL } from '../helpers/outbox/amqp.js';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startService, tokenFor, uid, type Json, type Service } from '../e2e/support/service.js';
import {
  brokerAccepts,
  declareDurableQueue,
  deleteQueue,
  drainQueue,
  ensureBrokerUp,
  startBroker,
  stopBroker,
} from './support/broker.js';

/**
 * Messages to other services (API.md), end to end: the machine's RabbitMQ is stopped and started again in
 * the middle of a burst of orders placed through the HTTP API of the real
 * service. Every order.created event arrives, none is lost; meanwhile the
 * service stays ready and keeps taking orders. Disruptive: runs alone
 * (vitest.disruptive.config.ts).
 */
describe('broker stopped and restarted during a burst of orders (real service)', () => {
  const queue = `e2e-broker-restart-${randomUUID()}`;
  let svc: Service;

  beforeAll(async () => {
    await ensureBrokerUp();
    await declareDurableQueue(queue); // bound before anything is published
    svc = await startService({
      AMQP_URL,
      OUTBOX_DELIVERY_TIMEOUT_MS: '1000',
      OUTBOX_BACKOFF_MAX_MS: '500',
      OUTBOX_MAX_ATTEMPTS: '1000', // an outage must never make an event dead
    });
  }, 120_000);
  afterAll(async () => {
    try {
      await ensureBrokerUp(); // whatever happened, the broker is running and accepting again when we leave
    } finally {
      await deleteQueue(queue);
      await svc?.stop();
    }
  }, 150_000);

  it('every order.created event arrives, none lost; /readyz 200 and orders 201 while the broker is down', async () => {
    const user = uid('burst');
    const token = await tokenFor(user);
    const ids: string[] = [];
    const duringOutage: string[] = [];
    // Set by the outage task below while the burst runs (an object: TypeScript would narrow a plain `let`).
    const state: { phase: 'before' | 'stopping' | 'down' | 'starting' | 'after'; failed: boolean; burstOver: boolean } =
      { phase: 'before', failed: false, burstOver: false };
    let readyWhileDown: number | null = null;
    let refusedWhileDown: boolean | null = null;

    const nextOrders = async (n: number): Promise<void> => {
      await waitFor(() => ids.length >= n || state.burstOver, `${n} orders`, 60_000);
      if (ids.length < n) throw new Error(`the burst ended after ${ids.length} orders`);
    };
    const outage = (async () => {
      await nextOrders(15);
      state.phase = 'stopping';
      await stopBroker();
      state.phase = 'down';
      refusedWhileDown = !(await brokerAccepts());
      readyWhileDown = (await svc.call('GET', '/readyz')).status;
      const downAt = ids.length;
      await nextOrders(downAt + 20); // twenty orders placed with the broker fully down
      state.phase = 'starting';
      await startBroker();
      state.phase = 'after';
    })();
    outage.catch(() => (state.failed = true)); // stops the burst; rethrown below

    let afterRestart = 0;
    try {
      while ((state.phase !== 'after' || afterRestart < 15) && !state.failed && ids.length < 1_000) {
        const res = await svc.call('POST', '/api/orders', {
          token,
          body: {
            items: [{ product_id: 'sku_mug', quantity: 1 }],
            currency: 'USD',
            payment: { provider: 'sandbox', source: 'pm_card_visa' },
          },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        ids.push(res.body.id);
        if (state.phase === 'down') duringOutage.push(res.body.id);
        if (state.phase === 'after') afterRestart++;
        await new Promise((r) => setTimeout(r, 15));
      }
    } finally {
      state.burstOver = true;
      await outage; // also rethrows a failed stop/start
    }
    expect(refusedWhileDown).toBe(true);
    expect(readyWhileDown).toBe(200);
    expect(duringOutage.length).toBeGreaterThanOrEqual(20);

    // Every event leaves the outbox once the relay has reconnected: delivered, none pending, none dead.
    await waitFor(
      async () => (await svc.outbox('pending')).filter((i: Json) => i.kind === 'event').length === 0,
      'no event pending',
      60_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify((await svc.outbox('pending')).slice(0, 3))}\n${svc.server.output().slice(-3000)}`,
      );
    });
    expect(await svc.outbox('dead')).toEqual([]);
    const deliveredEvents = (await svc.outbox('delivered')).filter((i: Json) => i.kind === 'event');
    expect(deliveredEvents).toHaveLength(ids.length);
    // Some of them really did fail during the outage and were retried.
    expect(deliveredEvents.filter((i: Json) => i.attempts > 1).length).toBeGreaterThan(0);

    // And every one of them is in our durable queue: nothing lost across the restart.
    const got = new Map<string, Json>();
    let received = 0;
    await waitFor(
      async () => {
        for (const m of await drainQueue(queue)) {
          received++;
          if (m.body.user_id !== user) continue; // other suites may publish on `orders`
          expect(m).toMatchObject({ routingKey: 'order.created', deliveryMode: 2, messageId: m.body.id });
          got.set(String(m.body.order_id), m.body);
        }
        return ids.every((id) => got.has(id));
      },
      'every order.created in the queue',
      30_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: missing ${ids.filter((id) => !got.has(id)).length} of ${ids.length} (received ${received})`,
      );
    });
    expect(ids.filter((id) => !got.has(id))).toEqual([]);
    expect(new Set(deliveredEvents.map((i: Json) => i.id))).toEqual(new Set([...got.values()].map((b) => b.id)));
  }, 180_000);
});
