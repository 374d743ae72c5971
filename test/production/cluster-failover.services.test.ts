import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { order, sleep, startTestCluster, type TestCluster } from './cluster-helpers.js';

/**
 * Instances dying under load, through nginx over 3 instances. Bounded: a few clients, a few seconds,
 * loopback only.
 */
describe('scale-out: instances dying under load', () => {
  let c: TestCluster;
  let sku: string;
  beforeAll(async () => {
    c = await startTestCluster(3);
    sku = `sku_fail_${randomUUID().slice(0, 8)}`;
    await c.putProduct(sku, 1000, 10_000);
  }, 120_000);
  afterAll(async () => c?.close(), 60_000);

  it('SIGKILL mid-load: clients retrying with their Idempotency-Key end with every order exactly once', async () => {
    const CLIENTS = 8;
    const ORDERS = 6;
    const victim = c.cluster.instances[1]!;
    const outcomes: { user: string; key: string; id: string; attempts: number }[] = [];
    const transient: string[] = [];

    // A client as the contract asks it to behave: one key per order, retried until it gets an answer.
    const client = async (n: number) => {
      const user = `killer-client-${n}`;
      for (let k = 0; k < ORDERS; k++) {
        const key = randomUUID();
        for (let attempt = 1; ; attempt++) {
          if (attempt > 100) throw new Error(`${user}: no answer for key ${key}`);
          let res;
          try {
            res = await c.call(user, 'POST', '/api/orders', order(sku), { 'idempotency-key': key });
          } catch (err) {
            transient.push(`network: ${(err as Error).message}`);
            await sleep(100);
            continue;
          }
          if (res.status === 201) {
            outcomes.push({ user, key, id: res.body.id, attempts: attempt });
            break;
          }
          // The first attempt may still be running (or orphaned until reconciled), or nginx found no instance.
          if ((res.status === 409 && res.body.code === 'idempotency_in_progress') || res.status >= 500) {
            transient.push(`${res.status} ${res.body?.code}`);
            await sleep(150);
            continue;
          }
          throw new Error(`${user}: unexpected ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    };

    const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await sleep(400);
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await load;

    expect(outcomes).toHaveLength(CLIENTS * ORDERS);
    expect(new Set(outcomes.map((o) => o.id)).size).toBe(CLIENTS * ORDERS);
    // In the database: one order per key, one successful charge per order, nothing else charged.
    const users = Array.from({ length: CLIENTS }, (_, n) => `killer-client-${n}`);
    const orders = await c.sql<{ id: string; user_id: string }>(
      'select id, user_id from orders where user_id = any($1)',
      [users],
    );
    expect(orders.map((o) => o.id).sort()).toEqual(outcomes.map((o) => o.id).sort());
    const charges = await c.sql<{ order_id: string; status: string }>(
      "select order_id, status from payment_transactions where customer_id = any($1) and status not in ('failed')",
      [users],
    );
    expect(charges.every((t) => t.status === 'succeeded')).toBe(true);
    expect(charges.map((t) => t.order_id).sort()).toEqual(outcomes.map((o) => o.id).sort());
    const [p] = await c.sql<{ stock: number }>('select stock from products where id = $1', [sku]);
    expect(p!.stock).toBe(10_000 - CLIENTS * ORDERS);
    console.info(`SIGKILL run: ${transient.length} transient answers retried (${[...new Set(transient)].join('; ')})`);
  }, 120_000);

  it('SIGTERM drains: every request in flight or arriving meanwhile is answered, and the instance exits 0', async () => {
    const victim = c.cluster.instances.find(
      (i) => i.child.exitCode === null && i.child.signalCode === null && i.port !== c.cluster.instances[0]!.port,
    )!;
    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    const worker = async (n: number) => {
      const user = `drain-client-${n}`;
      while (!stop) {
        const create = n % 2 === 0;
        try {
          const res = create
            ? await c.call(user, 'POST', '/api/orders', order(sku), { 'idempotency-key': randomUUID() })
            : await c.call(user, 'GET', '/api/orders?limit=5');
          if (res.status !== (create ? 201 : 200)) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
          else answered++;
        } catch (err) {
          failures.push(`network: ${(err as Error).message}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, n) => worker(n)));
    await sleep(800);
    victim.child.kill('SIGTERM');
    const exit = await victim.exited;
    await sleep(800); // and the survivors keep serving
    stop = true;
    await load;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(50);
  }, 120_000);
});
