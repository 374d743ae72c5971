import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { TEST_SECRET } from '../../helpers/app.js';
import { freshPgSchema } from '../../helpers/db.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

/**
 * The real service (`tsx src/server.ts` in a child process) on a fresh
 * PostgreSQL schema, driven over HTTP like any client would drive it. The relay
 * runs inside it, as in production; only its timings are shortened.
 */

export const EMAIL_FROM = 'Orders <orders@shop.example>';

/** Outbox timings short enough for tests; each suite adds its transports. */
const FAST_OUTBOX = {
  OUTBOX_POLL_MS: '20',
  OUTBOX_BACKOFF_BASE_MS: '20',
  OUTBOX_BACKOFF_MAX_MS: '200',
  OUTBOX_DELIVERY_TIMEOUT_MS: '1000',
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Json;
  ms: number;
}

export interface Service {
  url: string;
  server: ServerProcess;
  /** A request to the service; the body, when there is one, as JSON. */
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown }): Promise<ApiResponse>;
  /** Creates an order for `token` (2 T-shirts + 1 mug, $52.48); fails unless 201. */
  createOrder(token: string, extra?: Record<string, unknown>): Promise<ApiResponse>;
  getOrder(token: string, id: string): Promise<Json>;
  /** Admin tracking step; fails unless 200. */
  setStatus(id: string, body: { status: string; tracking?: { carrier: string; number: string } }): Promise<Json>;
  /** Cancels as the owner; fails unless 200. */
  cancel(token: string, id: string, reason?: string): Promise<Json>;
  /** GET /api/admin/outbox (admin token), every page. */
  outbox(status?: 'pending' | 'delivered' | 'dead'): Promise<Json[]>;
  stop(): Promise<void>;
}

const key = new TextEncoder().encode(TEST_SECRET);

/** A bearer token the service accepts (HS256 with the test secret); `email` defaults to `<sub>@example.com`. */
export function tokenFor(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ email: `${sub}@example.com`, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(key);
}

export const adminToken = (): Promise<string> => tokenFor('ops_admin', { roles: ['admin'] });

/** A user id unique to this run: the broker's exchange is shared with other suites. */
export const uid = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

const SHIPPING = {
  name: 'Alice Liddell',
  line1: '1 Main St',
  line2: null,
  city: 'Springfield',
  postal_code: '12345',
  country: 'US',
};

export async function startService(env: Record<string, string>): Promise<Service> {
  const schema = await freshPgSchema();
  let server: ServerProcess;
  try {
    server = await startServerProcess({
      DATABASE_URL: schema.url,
      JWT_SECRET: TEST_SECRET,
      EMAIL_FROM,
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
      ...FAST_OUTBOX,
      ...env,
    });
  } catch (err) {
    await schema.drop();
    throw err;
  }
  const admin = await adminToken();

  const call: Service['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    let body: Json = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (e.g. /metrics): keep the text
    }
    return { status: res.status, headers: res.headers, body, ms };
  };
  const must = async (expected: number, what: string, p: Promise<ApiResponse>): Promise<ApiResponse> => {
    const res = await p;
    if (res.status !== expected)
      throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}\n${server.output().slice(-2000)}`);
    return res;
  };

  for (const [id, name, price] of [
    ['sku_tshirt', 'T-shirt', 1999],
    ['sku_mug', 'Mug', 1250],
  ] as const) {
    await must(
      200,
      `PUT product ${id}`,
      call('PUT', `/api/products/${id}`, {
        token: admin,
        body: { name, price, currency: 'USD', active: true, stock: null },
      }),
    );
  }

  return {
    url: server.url,
    server,
    call,
    createOrder: (token, extra = {}) =>
      must(
        201,
        'create order',
        call('POST', '/api/orders', {
          token,
          body: {
            items: [
              { product_id: 'sku_tshirt', quantity: 2 },
              { product_id: 'sku_mug', quantity: 1 },
            ],
            currency: 'USD',
            payment: { provider: 'sandbox', source: 'pm_card_visa' },
            shipping_address: SHIPPING,
            ...extra,
          },
        }),
      ),
    getOrder: async (token, id) =>
      (await must(200, `GET order ${id}`, call('GET', `/api/orders/${id}`, { token }))).body,
    setStatus: async (id, body) =>
      (await must(200, `status ${body.status}`, call('POST', `/api/orders/${id}/status`, { token: admin, body }))).body,
    cancel: async (token, id, reason) =>
      (await must(200, 'cancel', call('POST', `/api/orders/${id}/cancel`, { token, body: reason ? { reason } : {} })))
        .body,
    outbox: async (status) => {
      const items: Json[] = [];
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams({ limit: '100' });
        if (status) q.set('status', status);
        if (cursor) q.set('cursor', cursor);
        const page = (await must(200, 'admin outbox', call('GET', `/api/admin/outbox?${q}`, { token: admin }))).body;
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return items;
    },
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await schema.drop();
      }
    },
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
