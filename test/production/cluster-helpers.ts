import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startCluster, type Cluster } from '../../deploy/cluster.js';
import { TEST_SECRET } from '../helpers/app.js';
import { freshPgSchema } from '../helpers/db.js';

/**
 * A real cluster for the scale-out tests: 3 `src/server.ts` processes behind nginx, on a fresh
 * schema of the machine's PostgreSQL, sharing Redis (own key prefix) and RabbitMQ.
 */
export interface TestCluster {
  cluster: Cluster;
  url: string;
  token: (sub: string, claims?: Record<string, unknown>) => Promise<string>;
  /** fetch through nginx, with the bearer token of `sub` (never throws on HTTP status). */
  call: (
    sub: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; headers: Headers; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  sql: <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;
  putProduct: (id: string, price: number, stock: number | null) => Promise<void>;
  close: () => Promise<void>;
}

export async function startTestCluster(instances = 3, env: Record<string, string> = {}): Promise<TestCluster> {
  const schema = await freshPgSchema();
  const cluster = await startCluster({
    instances,
    port: 0, // a free block: test files run side by side
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: schema.url,
      DATABASE_POOL_SIZE: '8',
      JWT_SECRET: TEST_SECRET,
      JWT_JWKS_URL: undefined, // the HS256 secret above, whatever this shell has
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `order-api-test:${randomBytes(6).toString('hex')}:`,
      // Load from a handful of test users, not a limit test.
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_CREATE_PER_MINUTE: '100000',
      // A charge orphaned by a killed instance is settled by a surviving one within about a second.
      RECONCILE_AFTER_MS: '1000',
      RECONCILE_INTERVAL_MS: '500',
      ...env,
    },
  });
  const key = new TextEncoder().encode(TEST_SECRET);
  const token = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ email: `${sub}@example.com`, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  const call: TestCluster['call'] = async (sub, method, path, body, headers = {}) => {
    const res = await fetch(`${cluster.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await token(sub, sub === 'admin' ? { roles: ['admin'] } : {})}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  const pool = new pg.Pool({ connectionString: schema.url, max: 2 });
  return {
    cluster,
    url: cluster.url,
    token,
    call,
    sql: async (text, params = []) => (await pool.query(text, params)).rows,
    putProduct: async (id, price, stock) => {
      const res = await call('admin', 'PUT', `/api/products/${id}`, {
        name: id,
        price,
        currency: 'USD',
        active: true,
        stock,
      });
      if (res.status !== 200) throw new Error(`putProduct: ${res.status} ${JSON.stringify(res.body)}`);
    },
    close: async () => {
      await cluster.stop();
      await pool.end();
      await schema.drop();
    },
  };
}

export const order = (productId: string, quantity = 1) => ({
  items: [{ product_id: productId, quantity }],
  currency: 'USD',
  payment: { provider: 'sandbox', source: 'pm_card_visa' },
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
