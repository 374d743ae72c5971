import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/server-process.js';

/**
 * Rate limits through the real app: counters in the machine's Redis (shared by two app instances, as
 * two processes behind a balancer would share them), in-process without REDIS_URL, fail-open when
 * Redis is unreachable. Each test uses its own key prefix, so runs and files never share counters.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = () => `order-api-test:${randomBytes(6).toString('hex')}:`;

const apps: TestApp[] = [];
async function start(env: Record<string, string>) {
  const t = await buildTestApp('postgres', { env, rateLimits: 'configured' });
  apps.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});

const get = (t: TestApp, url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expect429(res: Awaited<ReturnType<typeof get>>, policy: string, quota: number) {
  expect(res.statusCode, res.body).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({
    status: 429,
    code: 'rate_limited',
    title: expect.any(String),
    request_id: res.headers['x-request-id'],
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(res.headers['ratelimit-policy']).toContain(`"${policy}";q=${quota};w=60`);
  expect(res.headers.ratelimit).toMatch(new RegExp(`"${policy}";r=0;t=(\\d+)`));
  const t = Number(/t=(\d+)/.exec(String(res.headers.ratelimit).split(`"${policy}"`)[1] ?? '')?.[1]);
  expect(t).toBe(retryAfter);
}

describe('rate limits shared through Redis', () => {
  it('two instances, 10 a minute: of 15 requests spread over both exactly 10 pass, 5 get 429', async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix(), RATE_LIMIT_PER_MINUTE: '10' };
    const [a, b] = [await start(env), await start(env)];
    const token = await a.token('alice');
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const res = await get(i % 2 === 0 ? a : b, '/api/products', bearer(token));
      statuses.push(res.statusCode);
      if (res.statusCode === 200) {
        expect(res.headers['ratelimit-policy']).toBe('"default";q=10;w=60');
        expect(res.headers.ratelimit).toMatch(new RegExp(`^"default";r=${9 - i};t=\\d+$`));
      } else expect429(res, 'default', 10);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429, 429]);

    // The budget is per user: bob, on the same address, is untouched; probes are never limited.
    expect((await get(b, '/api/products', bearer(await b.token('bob')))).statusCode).toBe(200);
    for (const url of ['/healthz', '/readyz', '/metrics']) expect((await get(a, url)).statusCode).toBe(200);
    expect(await metric(a, 'rate_limited_requests_total{policy="default"}')).toBeGreaterThan(0);
  });

  it('without a valid token the budget is the client address, and a forged sub drains nobody', async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix(), RATE_LIMIT_PER_MINUTE: '5' };
    const [a, b] = [await start(env), await start(env)];
    // A token for alice signed with the wrong key: it must not count against alice.
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(randomBytes(32));
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const headers: Record<string, string> = i % 2 === 0 ? {} : bearer(forged);
      codes.push((await get(i % 2 === 0 ? a : b, '/api/orders', headers)).statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Unauthenticated floods of anything else (here a 404) share the address budget.
    expect429(await get(a, '/no/such/route'), 'default', 5);
    expect((await get(a, '/api/products', bearer(await a.token('alice')))).statusCode).toBe(200);
  });

  it('order creation has its own, lower budget; the general budget keeps serving reads', async () => {
    const env = {
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix(),
      RATE_LIMIT_PER_MINUTE: '50',
      RATE_LIMIT_CREATE_PER_MINUTE: '3',
    };
    const [a, b] = [await start(env), await start(env)];
    await putProduct(a, 'sku_rl', { price: 500 });
    await putProduct(b, 'sku_rl', { price: 500 });
    const token = await a.token('carol');
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await (i % 2 === 0 ? a : b).app.inject({
        method: 'POST',
        url: i < 3 ? '/api/orders' : '/api/orders/create', // both paths spend one budget
        headers: bearer(token),
        payload: orderBody([{ product_id: 'sku_rl', quantity: 1 }]),
      });
      codes.push(res.statusCode);
      if (res.statusCode === 201) {
        expect(res.headers['ratelimit-policy']).toBe('"default";q=50;w=60, "create";q=3;w=60');
        expect(res.headers.ratelimit).toMatch(new RegExp(`^"default";r=${49 - i};t=\\d+, "create";r=${2 - i};t=\\d+$`));
      } else expect429(res, 'create', 3);
    }
    expect(codes).toEqual([201, 201, 201, 429, 429]);
    // Each instance here has its own in-memory database: together they hold the three orders.
    const reads = [await get(a, '/api/orders', bearer(token)), await get(b, '/api/orders', bearer(token))];
    expect(reads.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(reads.reduce((n, r) => n + r.json().items.length, 0)).toBe(3);
  });
});

describe('without Redis', () => {
  it('REDIS_URL unreachable: every request is served at once, the failures are counted', async () => {
    const closed = await freePort();
    const t = await start({ REDIS_URL: `redis://127.0.0.1:${closed}`, RATE_LIMIT_PER_MINUTE: '2' });
    const token = await t.token('dave');
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const res = await get(t, '/api/products', bearer(token));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers.ratelimit).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1000); // never waits on the dead store
    }
    expect(await metric(t, 'rate_limit_store_errors_total')).toBeGreaterThanOrEqual(6);
  });

  it('no REDIS_URL: counters in the process', async () => {
    const t = await start({ RATE_LIMIT_PER_MINUTE: '3' });
    const token = await t.token('erin');
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await get(t, '/api/products', bearer(token))).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });
});

async function metric(t: TestApp, series: string): Promise<number> {
  const text = (await get(t, '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

afterAll(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});
