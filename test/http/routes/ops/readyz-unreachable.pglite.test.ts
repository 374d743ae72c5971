import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type OrderApp } from '../../../../src/app.js';
import { loadConfig } from '../../../../src/config.js';
import { createDb } from '../../../../src/persistence/db.js';
import { TEST_SECRET } from '../../../helpers/app.js';
import { bearer, expectProblem } from '../../../helpers/http.js';

/** "Down" is a server that does not answer; an embedded database cannot be down while the process is up. */
describe('GET /readyz with PostgreSQL unreachable', () => {
  let app: OrderApp;
  let db: Awaited<ReturnType<typeof createDb>>;
  beforeAll(async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_SECRET,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none`,
      DATA_DIR: '/tmp/order-api-test',
    });
    db = await createDb(config.database);
    app = await buildApp({ config, db: db.db, logger: false });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('→ 503 service_unavailable, while /healthz stays 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expectProblem(res, 503, 'service_unavailable');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('an API call that needs the database → 503 service_unavailable, not 500', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const res = await app.inject({ method: 'GET', url: '/api/orders', headers: bearer(token) });
    expectProblem(res, 503, 'service_unavailable');
  });
});
