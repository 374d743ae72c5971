import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { order, startTestCluster, type TestCluster } from './cluster-helpers.js';

/**
 * The contract's concurrency guarantees (API.md: stock, racing cancels), through nginx over 3
 * instances: whatever instance each racing request lands on, the database decides, so they hold
 * across instances exactly as in one.
 */
describe('scale-out: 3 instances behind nginx', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  }, 120_000);
  afterAll(async () => c?.close(), 60_000);

  it('spreads requests over every instance', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const res = await c.call('spread', 'GET', '/api/products');
      expect(res.status).toBe(200);
    }
    // Each instance's /metrics counts the requests it served.
    for (const i of c.cluster.instances) {
      const text = await (await fetch(`${i.url}/metrics`)).text();
      if (/http_requests_total\{method="GET",route="\/api\/products",status_code="200"\} [1-9]/.test(text))
        seen.add(i.port);
    }
    expect(seen.size).toBe(3);
  });

  it('no oversell: 60 racing orders for 20 in stock → exactly 20 orders, stock 0', async () => {
    const sku = `sku_race_${randomUUID().slice(0, 8)}`;
    await c.putProduct(sku, 1500, 20);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => c.call(`racer${i % 20}`, 'POST', '/api/orders', order(sku))),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('out_of_stock');
    const [row] = await c.sql<{ stock: number }>('select stock from products where id = $1', [sku]);
    expect(row!.stock).toBe(0);
    const [count] = await c.sql<{ n: string }>('select count(*) as n from order_items where product_id = $1', [sku]);
    expect(Number(count!.n)).toBe(20);
  });

  it('one order per Idempotency-Key: 12 racing requests with one key, on every instance', async () => {
    const sku = `sku_idem_${randomUUID().slice(0, 8)}`;
    await c.putProduct(sku, 700, null);
    const key = randomUUID();
    const send = () => c.call('idem-user', 'POST', '/api/orders/create', order(sku, 2), { 'idempotency-key': key });
    const results = await Promise.all(Array.from({ length: 12 }, send));
    for (const r of results) {
      expect([201, 409]).toContain(r.status);
      if (r.status === 409) expect(r.body.code).toBe('idempotency_in_progress');
    }
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    // Once settled, every retry replays the same order.
    const replay = await send();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(ids.has(replay.body.id)).toBe(true);
    const orders = await c.sql(
      'select o.id from orders o join order_items i on i.order_id = o.id where i.product_id = $1',
      [sku],
    );
    expect(orders).toHaveLength(1);
    const charges = await c.sql(
      "select id from payment_transactions where customer_id = 'idem-user' and status = 'succeeded'",
    );
    expect(charges).toHaveLength(1);
  });

  it('racing cancels on different instances: exactly one 200, one refund, the stock back once', async () => {
    const sku = `sku_cancel_${randomUUID().slice(0, 8)}`;
    await c.putProduct(sku, 2500, 5);
    const created = await c.call('canceller', 'POST', '/api/orders', order(sku, 2));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const results = await Promise.all(
      Array.from({ length: 9 }, () => c.call('canceller', 'POST', `/api/orders/${id}/cancel`, { reason: 'race' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(8).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('order_not_cancellable');
    // One refund of the whole capture in the ledger: the payment row is locked by each racer in turn.
    const movements = await c.sql<{ kind: string; amount: string; status: string }>(
      'select kind, amount, status from payment_ledger where order_id = $1 order by created_at',
      [id],
    );
    expect(movements.map((m) => `${m.kind} ${Number(m.amount)} ${m.status}`)).toEqual([
      'authorization 5000 succeeded',
      'capture 5000 succeeded',
      'refund 5000 succeeded',
    ]);
    const refunds = await c.sql(
      "select id from outbox where topic = 'payment.refunded' and payload::jsonb->>'order_id' = $1",
      [id],
    );
    expect(refunds).toHaveLength(1);
    const [p] = await c.sql<{ stock: number }>('select stock from products where id = $1', [sku]);
    expect(p!.stock).toBe(5);
  });
});
