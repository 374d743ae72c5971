import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_SECRET, type TestApp } from '../../../helpers/app.js';
import { bearer, expectProblem } from '../../../helpers/http.js';

/** "Down" is a server that does not answer; an embedded database cannot be down while the process is up. */
describe('GET /readyz with PostgreSQL unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    t = await buildTestApp({ url: `postgres://postgres@127.0.0.1:${port}/none` });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('→ 503 service_unavailable, while /healthz stays 200', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expectProblem(res, 503, 'service_unavailable');
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('an API call that needs the database → 503 service_unavailable, not 500', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const res = await t.app.inject({ method: 'GET', url: '/api/orders', headers: bearer(token) });
    expectProblem(res, 503, 'service_unavailable');
  });
});
