import { SignJWT } from 'jose';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/persistence/tables.js';
import { TEST_SECRET } from '../helpers/app.js';
import { freshPgSchema } from '../helpers/db.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * PAYMENT_CAPTURE=shipment, and the process is killed (SIGKILL) after the provider captured or
 * voided and before the ledger said so. On restart the reconciler makes the same movement again
 * (same id, so the provider moves the money once) and finishes what it was for: the order shipped,
 * or the authorization recorded as released.
 */
describe('crash between a capture or void and its commit (sandbox)', () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let db: Kysely<Database>;
  let server: ServerProcess | undefined;
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: schema.url, JWT_SECRET: TEST_SECRET, PAYMENT_CAPTURE: 'shipment', ...extra });
  const sign = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(TEST_SECRET));
  const json = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${server!.url}${path}`, { method, headers: json(token), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
    for (let i = 0; i < 150; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const movements = (transactionId: string) => db.selectFrom('payment_ledger').select(['kind', 'status']).where('transaction_id', '=', transactionId).orderBy('seq').execute();

  beforeAll(async () => {
    schema = await freshPgSchema();
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 2 }) }) });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await db.destroy();
    await schema.drop();
  });

  it('a capture: recovered after a restart, the order shipped once, one capture', async () => {
    const [token, admin] = [await sign('dora', { email: 'dora@example.com' }), await sign('boss', { roles: ['admin'] })];
    server = await startServerProcess(env({ WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500', ORDER_API_FAULT: 'crash-after-capture' }));
    expect((await call('PUT', '/api/products/sku_cap', admin, { name: 'Cap', price: 800, currency: 'USD', active: true, stock: 5 })).status).toBe(200);
    const created = await call('POST', '/api/orders', token, {
      items: [{ product_id: 'sku_cap', quantity: 2 }],
      currency: 'USD',
      payment: { provider: 'sandbox', source: 'pm_card_visa' },
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string; payment: { transaction_id: string; status: string } };
    expect(order.payment.status).toBe('authorized');
    expect((await call('POST', `/api/orders/${order.id}/status`, admin, { status: 'processing' })).status).toBe(200);

    await expect(call('POST', `/api/orders/${order.id}/status`, admin, { status: 'shipped', note: 'crash' })).rejects.toThrow();
    expect((await server.exited).signal).toBe('SIGKILL');
    // Captured at the provider, not in the ledger: the capture pending, the order still processing.
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'capture', status: 'pending' },
    ]);
    expect(await db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow()).toEqual({ status: 'processing' });

    server = await startServerProcess(env({ RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' }));
    await until(async () => {
      const o = await db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow();
      return o.status === 'shipped' ? o : undefined;
    }, 'the order to ship');
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'capture', status: 'succeeded' },
    ]);
    const got = (await (await call('GET', `/api/orders/${order.id}`, token)).json()) as { payment: Record<string, unknown> };
    expect(got.payment).toMatchObject({ status: 'succeeded', amount_captured: 1600 });
    const history = (await (await call('GET', `/api/orders/${order.id}/history`, token)).json()) as { items: { status: string; note: string | null }[] };
    expect(history.items.filter((h) => h.status === 'shipped')).toEqual([expect.objectContaining({ note: 'crash' })]);
    const captured = await db.selectFrom('outbox').select('id').where('topic', '=', 'payment.captured').execute();
    expect(captured).toHaveLength(1);
    await server.stop('SIGKILL');
  });

  it('a void: recovered after a restart, the payment voided once', async () => {
    const token = await sign('erin', { email: 'erin@example.com' });
    server = await startServerProcess(env({ WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500', ORDER_API_FAULT: 'crash-after-capture' }));
    const created = await call('POST', '/api/orders', token, {
      items: [{ product_id: 'sku_cap', quantity: 1 }],
      currency: 'USD',
      payment: { provider: 'sandbox', source: 'pm_card_visa' },
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string; payment: { transaction_id: string } };
    await expect(call('POST', `/api/orders/${order.id}/cancel`, token, {})).rejects.toThrow();
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'void', status: 'pending' },
    ]);

    server = await startServerProcess(env({ RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' }));
    await until(async () => {
      const rows = await movements(order.payment.transaction_id);
      return rows.at(-1)?.status === 'succeeded' ? rows : undefined;
    }, 'the void to settle');
    const got = (await (await call('GET', `/api/orders/${order.id}`, token)).json()) as { status: string; payment: Record<string, unknown> };
    expect(got).toMatchObject({ status: 'cancelled', payment: { status: 'voided', amount_captured: 0 } });
    expect(await db.selectFrom('outbox').select('id').where('topic', '=', 'payment.voided').execute()).toHaveLength(1);
  });
});
