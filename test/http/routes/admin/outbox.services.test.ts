import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDomainError } from '../../../../src/domain/errors.js';
import { problemBody } from '../../../../src/http/problem.js';
import outboxAdminRoutes from '../../../../src/http/routes/admin/outbox.js';
import { createOutboxRelay } from '../../../../src/workers/outbox-relay.js';
import { startHttpSink, type HttpSink } from '../../../helpers/outbox/http-sink.js';
import {
  enqueueEmail,
  enqueueEvent,
  makeOrder,
  openTestDb,
  outboxRow,
  quietLogger,
  testConfig,
  type TestDb,
} from '../../../helpers/outbox/fixtures.js';

/**
 * The plugin on a bare Fastify: a stand-in for the app's admin scope (a fake
 * `request.user`) and the app's problem bodies for DomainErrors. The app-level test
 * with real tokens and the real error handler belongs to the app's suite.
 */
async function bareApp(t: TestDb): Promise<FastifyInstance> {
  const app = Fastify();
  app.decorateRequest('user', null as never); // typed by the auth plugin's augmentation when present
  app.addHook('onRequest', async (request) => {
    (request as unknown as { user: unknown }).user = { sub: 'root', email: null, roles: ['admin'], isAdmin: true };
  });
  // Problem bodies as the app renders them: the routes declare their 4xx answers in that shape.
  app.setErrorHandler((err, request, reply) => {
    if (isDomainError(err)) return reply.status(err.status).send(problemBody(err.code, err.message, request.id));
    const e = err as { validation?: unknown; statusCode?: number };
    if (e.validation) return reply.status(422).send(problemBody('validation_error', 'invalid', request.id));
    return reply.status(e.statusCode ?? 500).send({ code: 'internal_error' });
  });
  await app.register(async (api) => api.register(outboxAdminRoutes, { deps: { db: t.db } }), { prefix: '/api' });
  return app;
}

describe('admin outbox routes', () => {
  let t: TestDb;
  let app: FastifyInstance;
  let sink: HttpSink;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    app = await bareApp(t);
    sink = await startHttpSink();
  });
  afterAll(async () => {
    await app?.close();
    await sink?.close();
    await t?.close();
  });

  it('a message dead after N attempts is listed with its error, retried by an admin, and then delivered', async () => {
    const id = (await enqueueEmail(t.db, 'order_confirmation', makeOrder()))!;
    sink.respond = () => 503;
    const config = testConfig({
      EMAIL_URL: sink.url,
      OUTBOX_MAX_ATTEMPTS: '2',
      OUTBOX_BACKOFF_BASE_MS: '1',
      OUTBOX_BACKOFF_MAX_MS: '1',
    });
    const relay = createOutboxRelay({ db: t.db, config, logger: quietLogger });
    await relay.runOnce();
    await new Promise((r) => setTimeout(r, 20));
    await relay.runOnce();
    expect((await outboxRow(t.db, id)).status).toBe('dead');

    const list = await app.inject({ method: 'GET', url: '/api/admin/outbox?status=dead' });
    expect(list.statusCode).toBe(200);
    const item = list.json().items.find((i: { id: string }) => i.id === id);
    expect(item).toMatchObject({
      id,
      kind: 'email',
      topic: 'order_confirmation',
      status: 'dead',
      attempts: 2,
      delivered_at: null,
    });
    expect(item.last_error).toMatch(/HTTP 503/);
    expect(Object.keys(item).sort()).toEqual([
      'attempts',
      'created_at',
      'delivered_at',
      'id',
      'kind',
      'last_error',
      'next_attempt_at',
      'status',
      'topic',
    ]);
    expect(item.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const retry = await app.inject({ method: 'POST', url: `/api/admin/outbox/${id}/retry` });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ id, status: 'pending', attempts: 0 });
    // A second click changes nothing and is not an error.
    expect((await app.inject({ method: 'POST', url: `/api/admin/outbox/${id}/retry` })).json()).toMatchObject({
      status: 'pending',
      attempts: 0,
    });

    sink.respond = () => 202;
    await relay.runOnce();
    await relay.stop();
    expect(await outboxRow(t.db, id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(sink.accepted).toEqual([id]);

    const again = await app.inject({ method: 'POST', url: `/api/admin/outbox/${id}/retry` });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('invalid_transition');
  });

  it('retry of an unknown or malformed id is 404 not_found', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await app.inject({ method: 'POST', url: `/api/admin/outbox/${id}/retry` });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
  });

  it('pages newest first with an opaque cursor, each message once, filtered by status', async () => {
    const order = makeOrder();
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) ids.add(await enqueueEvent(t.db, 'order.created', order, new Date()));
    // One transaction: these share created_at (now() is the transaction's start), so only the id breaks ties.
    await t.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 15; i++) ids.add(await enqueueEvent(trx, 'order.created', order, new Date()));
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `status=pending&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await app.inject({ method: 'GET', url: `/api/admin/outbox?${qs}` });
      expect(res.statusCode).toBe(200);
      const body = res.json() as {
        items: { id: string; status: string; created_at: string }[];
        next_cursor: string | null;
      };
      expect(body.items.every((i) => i.status === 'pending')).toBe(true);
      seen.push(...body.items.map((i) => i.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    const ours = seen.filter((id) => ids.has(id));
    expect(ours).toHaveLength(23);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(3);
  });

  it('rejects a cursor it did not issue (422 invalid_cursor) and bad query values (422)', async () => {
    const bad = await app.inject({ method: 'GET', url: '/api/admin/outbox?cursor=bm9wZQ' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('invalid_cursor');
    const long = await app.inject({ method: 'GET', url: `/api/admin/outbox?cursor=${'A'.repeat(600)}` });
    expect(long.statusCode).toBe(422);
    expect(long.json().code).toBe('invalid_cursor');
    for (const qs of ['status=lost', 'limit=0', 'limit=101', 'limit=abc']) {
      expect((await app.inject({ method: 'GET', url: `/api/admin/outbox?${qs}` })).statusCode, qs).toBe(422);
    }
  });
});
