import { SignJWT } from 'jose';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/persistence/tables.js';
import { TEST_SECRET } from '../helpers/app.js';
import { freshPgSchema } from '../helpers/db.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * The process is killed (SIGKILL) after the provider charged the card and
 * before the order was committed. On restart the reconciler must find the
 * charge and finish the order: exactly one order, and the client's retry with
 * its Idempotency-Key gets that order back.
 */
describe('crash between charge and commit', () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let db: Kysely<Database>;
  let server: ServerProcess | undefined;
  const env = () => ({ DATABASE_URL: schema.url, JWT_SECRET: TEST_SECRET });

  beforeAll(async () => {
    schema = await freshPgSchema();
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 2 }) }) });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await db.destroy();
    await schema.drop();
  });

  it('recovers the order after a restart, once', async () => {
    const token = await new SignJWT({ email: 'carol@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('carol')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const admin = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('boss')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const json = (t: string, key?: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) });
    const body = JSON.stringify({ items: [{ product_id: 'sku_crash', quantity: 2 }], currency: 'USD', payment: { provider: 'sandbox', source: 'pm_card_visa' } });

    server = await startServerProcess({ ...env(), WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500', ORDER_API_FAULT: 'crash-after-charge' });
    const put = await fetch(`${server.url}/api/products/sku_crash`, {
      method: 'PUT',
      headers: json(admin),
      body: JSON.stringify({ name: 'Crash', price: 700, currency: 'USD', active: true, stock: 3 }),
    });
    expect(put.status).toBe(200);

    await expect(fetch(`${server.url}/api/orders`, { method: 'POST', headers: json(token, 'crash-key-1'), body })).rejects.toThrow();
    expect((await server.exited).signal).toBe('SIGKILL');

    // Charged, not committed: a processing transaction, stock held, no order.
    const stuck = await db.selectFrom('payment_transactions').selectAll().execute();
    expect(stuck).toHaveLength(1);
    expect(stuck[0]?.status).toBe('processing');
    expect(await db.selectFrom('orders').selectAll().execute()).toHaveLength(0);

    server = await startServerProcess({ ...env(), RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' });
    let orders: { id: string }[] = [];
    for (let i = 0; i < 100 && orders.length === 0; i++) {
      orders = await db.selectFrom('orders').select('id').execute();
      if (orders.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(orders).toHaveLength(1);
    const t = await db.selectFrom('payment_transactions').selectAll().executeTakeFirstOrThrow();
    expect(t.status).toBe('succeeded');

    const retry = await fetch(`${server.url}/api/orders`, { method: 'POST', headers: json(token, 'crash-key-1'), body });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { id: string }).id).toBe(orders[0]?.id);

    const product = (await (await fetch(`${server.url}/api/products/sku_crash`, { headers: json(token) })).json()) as { stock: number };
    expect(product.stock).toBe(1);
    expect(await db.selectFrom('orders').selectAll().execute()).toHaveLength(1);
    expect(await db.selectFrom('payment_transactions').selectAll().execute()).toHaveLength(1);
  });
});
