import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { buildApp, type AppOptions, type OrderApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDb } from '../../src/persistence/db.js';
import { migrateToLatest } from '../../src/persistence/migrations/index.js';
import type { Database } from '../../src/persistence/tables.js';
import { databaseUrlFor, type DatabaseKind } from './db.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface TestApp {
  app: OrderApp;
  db: Kysely<Database>;
  config: Readonly<Config>;
  /** A bearer token for `sub` (HS256 with the test secret). */
  token: (sub: string, claims?: Record<string, unknown>) => Promise<string>;
  adminToken: () => Promise<string>;
  close: () => Promise<void>;
}

/**
 * The real app on a real database (PGlite in memory or a fresh schema on the
 * PostgreSQL server), driven through `app.inject` or a real socket.
 */
export async function createTestApp(
  kind: DatabaseKind,
  opts: { env?: Record<string, string>; app?: Partial<Omit<AppOptions, 'config' | 'db'>> } = {},
): Promise<TestApp> {
  const { url, drop, pglite } = await databaseUrlFor(kind);
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    DATABASE_URL: url,
    DATA_DIR: '/tmp/order-api-test',
    ...opts.env,
  });
  const database = await createDb({ ...config.database, pglite });
  await migrateToLatest(database.db as never);
  const app = await buildApp({ config, db: database.db, logger: false, ...opts.app });
  await app.ready();
  const key = new TextEncoder().encode(TEST_SECRET);
  const token = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ email: `${sub}@example.com`, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  return {
    app,
    db: database.db,
    config,
    token,
    adminToken: () => token('admin', { roles: ['admin'] }),
    close: async () => {
      await app.close();
      await database.close();
      await drop();
    },
  };
}

/** A product put through the admin route, as a user of the API would. */
export async function putProduct(
  t: TestApp,
  id: string,
  body: { name?: string; price: number; currency?: string; active?: boolean; stock?: number | null },
) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/api/products/${id}`,
    headers: { authorization: `Bearer ${await t.adminToken()}` },
    payload: {
      name: body.name ?? id,
      price: body.price,
      currency: body.currency ?? 'USD',
      active: body.active ?? true,
      stock: body.stock ?? null,
    },
  });
  if (res.statusCode !== 200) throw new Error(`putProduct ${id}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export function orderBody(
  items: { product_id: string; quantity: number; unit_price?: number }[],
  source = 'pm_card_visa',
  extra: Record<string, unknown> = {},
) {
  return { items, currency: 'USD', payment: { provider: 'sandbox', source }, ...extra };
}
