import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { uid } from '../helpers/http.js';

/**
 * Races on the real PostgreSQL, over a real socket: every request is its own
 * connection from the pool, so row locks and unique indexes do the work.
 */
describe('concurrency on PostgreSQL', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await buildTestApp('postgres', { env: { DATABASE_POOL_SIZE: '20' }, listen: true });
    base = t.url;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function call(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }
  const tally = (statuses: number[]) =>
    statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
  const stock = async (id: string) =>
    (await t.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;
  const ordersOf = async (productId: string) =>
    Number(
      (
        await t.db
          .selectFrom('order_items')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('product_id', '=', productId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** Until a statement of another connection waits on a lock held by the backend `pid`. */
  async function waitUntilBlockedBy(pid: number) {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`.execute(t.db);
      if (rows[0]!.n > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('nothing waited on the lock');
  }

  it('20 racing orders for a product with stock 5: exactly 5 × 201, 15 × 409 out_of_stock, stock 0', async () => {
    const sku = uid('scarce');
    await putProduct(t, sku, { price: 999, stock: 5 });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        call('POST', '/api/orders', await t.token(`racer${i}`), orderBody([{ product_id: sku, quantity: 1 }])),
      ),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 201: 5, 409: 15 });
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('out_of_stock');
    expect(await stock(sku)).toBe(0);
    expect(await ordersOf(sku)).toBe(5);
  });

  it('10 racing cancels of one order: exactly one 200, nine 409, one refund', async () => {
    const sku = uid('cancel');
    await putProduct(t, sku, { price: 1500, stock: 10 });
    const owner = await t.token(uid('owner'));
    const created = await call('POST', '/api/orders', owner, orderBody([{ product_id: sku, quantity: 3 }]));
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', `/api/orders/${id}/cancel`, owner)),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 1, 409: 9 });
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('order_not_cancellable');
    expect(results.find((r) => r.status === 200)!.body.order.payment.status).toBe('refunded');

    const tx = await t.db.selectFrom('payment_transactions').select(['id']).where('order_id', '=', id).execute();
    expect(tx).toHaveLength(1);
    const refunds = await t.db
      .selectFrom('payment_ledger')
      .select(['status', 'amount'])
      .where('transaction_id', '=', tx[0]!.id)
      .where('kind', '=', 'refund')
      .execute();
    expect(refunds.map((r) => [r.status, Number(r.amount)])).toEqual([['succeeded', 4500]]);
    const refundEvents = await t.db
      .selectFrom('outbox')
      .select('id')
      .where('topic', '=', 'payment.refunded')
      .where(sql<string>`payload->>'order_id'`, '=', id)
      .execute();
    expect(refundEvents).toHaveLength(1);
    const cancelEvents = await t.db
      .selectFrom('outbox')
      .select('id')
      .where('topic', '=', 'order.cancelled')
      .where(sql<string>`payload->>'order_id'`, '=', id)
      .execute();
    expect(cancelEvents).toHaveLength(1);
    expect(await stock(sku)).toBe(10); // returned once, not ten times
    const history = await call('GET', `/api/orders/${id}/history`, owner);
    expect(history.body.items.map((h: { status: string }) => h.status)).toEqual(['pending', 'cancelled']);
  });

  it('10 racing creates with one Idempotency-Key: one order, one charge; the rest replay it or are told it is in progress', async () => {
    const sku = uid('idem');
    await putProduct(t, sku, { price: 700, stock: 100 });
    const user = uid('buyer');
    const token = await t.token(user);
    const key = uid('key');
    const body = orderBody([{ product_id: sku, quantity: 2 }]);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', '/api/orders', token, body, { 'idempotency-key': key })),
    );
    const statuses = tally(results.map((r) => r.status));
    expect(statuses[201]).toBeGreaterThanOrEqual(1);
    expect((statuses[201] ?? 0) + (statuses[409] ?? 0)).toBe(10);
    const created = results.filter((r) => r.status === 201);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('idempotency_in_progress');

    const orders = await t.db.selectFrom('orders').select('id').where('user_id', '=', user).execute();
    expect(orders).toEqual([{ id: created[0]!.body.id }]);
    const charges = await t.db
      .selectFrom('payment_transactions')
      .select('status')
      .where('customer_id', '=', user)
      .execute();
    expect(charges).toEqual([{ status: 'succeeded' }]);
    expect(await stock(sku)).toBe(98);
    // once settled, a retry replays the order
    const retry = await call('POST', '/api/orders', token, body, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(created[0]!.body.id);
  });

  it('orders over A+B and B+A at the same time never deadlock, and never oversell', async () => {
    const [a, b] = [uid('a'), uid('b')];
    await putProduct(t, a, { price: 100, stock: 1000 });
    await putProduct(t, b, { price: 100, stock: 1000 });
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const items =
          i % 2 === 0
            ? [
                { product_id: a, quantity: 2 },
                { product_id: b, quantity: 1 },
              ]
            : [
                { product_id: b, quantity: 1 },
                { product_id: a, quantity: 2 },
              ];
        return call('POST', '/api/orders', await t.token(`mixer${i}`), orderBody(items));
      }),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 201: 30 });
    expect(await stock(a)).toBe(1000 - 60);
    expect(await stock(b)).toBe(1000 - 30);
  });

  it('scarce A+B and B+A: every success takes both, stock never below zero', async () => {
    const [a, b] = [uid('a'), uid('b')];
    await putProduct(t, a, { price: 100, stock: 4 });
    await putProduct(t, b, { price: 100, stock: 6 });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const items =
          i % 2 === 0
            ? [
                { product_id: a, quantity: 1 },
                { product_id: b, quantity: 1 },
              ]
            : [
                { product_id: b, quantity: 1 },
                { product_id: a, quantity: 1 },
              ];
        return call('POST', '/api/orders', await t.token(`scarce${i}`), orderBody(items));
      }),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 201: 4, 409: 16 });
    expect(await stock(a)).toBe(0);
    expect(await stock(b)).toBe(2);
    expect(await ordersOf(a)).toBe(4);
    expect(await ordersOf(b)).toBe(4);
  });

  it('a restock that commits while a create waits for the product: the create takes the restocked units, 201, never a 500', async () => {
    // Found by the soak: the reservation computed the new stock from the row as its snapshot saw it
    // (3), and PostgreSQL checked products_stock_check on 3 − 7 before re-reading the current row (8).
    const sku = uid('restocked');
    await putProduct(t, sku, { price: 100, stock: 3 });
    const token = await t.token(uid('waiter'));
    let create: Promise<Awaited<ReturnType<typeof call>>> | undefined;
    await t.db.transaction().execute(async (trx) => {
      // A cancel giving 5 units back, not yet committed.
      await sql`update products set stock = stock + 5 where id = ${sku}`.execute(trx);
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      create = call('POST', '/api/orders', token, orderBody([{ product_id: sku, quantity: 7 }]));
      await waitUntilBlockedBy(rows[0]!.pid);
    });
    const res = await create!;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await stock(sku)).toBe(1);
  });

  it('racing creates and cancels over the same scarce products: never a 500 nor a deadlock, and the stock adds up', async () => {
    // Cancels give units back while creates take them, over two products in both orders: every
    // answer is the contract's (201, or 409 out_of_stock), and the stock is exactly what is kept.
    const [a, b] = [uid('a'), uid('b')];
    await putProduct(t, b, { price: 100, stock: 6 });
    await putProduct(t, a, { price: 100, stock: 6 });
    const statuses: number[] = [];
    const worker = async (w: number) => {
      const token = await t.token(`churner${w}`);
      for (let i = 0; i < 8; i++) {
        const items = [
          { product_id: w % 2 ? a : b, quantity: 1 + ((w + i) % 3) },
          { product_id: w % 2 ? b : a, quantity: 1 + (i % 2) },
        ];
        const created = await call('POST', '/api/orders', token, orderBody(items));
        statuses.push(created.status);
        if (created.status === 201 && (w + i) % 2 === 0)
          statuses.push((await call('POST', `/api/orders/${created.body.id}/cancel`, token, {})).status);
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    expect(statuses).toContain(201);
    expect(statuses.filter((s) => ![200, 201, 409].includes(s))).toEqual([]);
    const kept = async (id: string) =>
      Number(
        (
          await sql<{ n: string }>`
            select coalesce(sum(i.quantity - i.quantity_cancelled), 0) as n
            from order_items i join orders o on o.id = i.order_id where i.product_id = ${id}`.execute(t.db)
        ).rows[0]!.n,
      );
    expect(await stock(a)).toBe(6 - (await kept(a)));
    expect(await stock(b)).toBe(6 - (await kept(b)));
  });

  it('racing cancels and a tracking move: the order ends either cancelled or processing, never both', async () => {
    const sku = uid('mix');
    await putProduct(t, sku, { price: 100, stock: 5 });
    const owner = await t.token(uid('owner'));
    const admin = await t.adminToken();
    const created = await call('POST', '/api/orders', owner, orderBody([{ product_id: sku, quantity: 1 }]));
    const id: string = created.body.id;
    const [cancel, move] = await Promise.all([
      call('POST', `/api/orders/${id}/cancel`, owner),
      call('POST', `/api/orders/${id}/status`, admin, { status: 'processing' }),
    ]);
    expect([cancel.status, move.status].sort()).toEqual([200, 409]);
    const final = await call('GET', `/api/orders/${id}`, owner);
    expect(final.body.status).toBe(cancel.status === 200 ? 'cancelled' : 'processing');
    expect(await stock(sku)).toBe(cancel.status === 200 ? 5 : 4);
  });
});
