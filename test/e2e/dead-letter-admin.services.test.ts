import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startHttpSink, type HttpSink } from '../helpers/outbox/http-sink.js';
import { startEmailGate, type EmailGate } from './support/email-gate.js';
import {
  adminToken,
  startService,
  tokenFor,
  uid,
  type ApiResponse,
  type Json,
  type Service,
} from './support/service.js';

/**
 * Email service down for good (API.md, "Messages to other services"), end to end: the confirmation goes dead
 * after OUTBOX_MAX_ATTEMPTS, an admin finds it with GET /api/admin/outbox?status=dead
 * and retries it with POST /api/admin/outbox/{id}/retry, and it is delivered once
 * the email service is back. Meanwhile the service stays ready and takes orders.
 */
describe('dead emails, seen and retried through the admin routes of the real service', () => {
  let sink: HttpSink;
  let gate: EmailGate;
  let svc: Service;
  let admin: string;

  beforeAll(async () => {
    sink = await startHttpSink();
    gate = await startEmailGate(sink, 'down'); // connection refused from the start
    svc = await startService({
      EMAIL_URL: gate.url,
      OUTBOX_MAX_ATTEMPTS: '3',
      OUTBOX_BACKOFF_BASE_MS: '20',
      OUTBOX_BACKOFF_MAX_MS: '50',
    });
    admin = await adminToken();
  });
  afterAll(async () => {
    await svc?.stop();
    await gate?.close();
    await sink?.close();
  });

  const expectProblem = (res: ApiResponse, status: number, code: string): void => {
    expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { status, code } });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  };

  it('dead after OUTBOX_MAX_ATTEMPTS, listed as dead, retried by an admin, delivered once the email service is back', async () => {
    const token = await tokenFor(uid('dead'));
    const ready = await svc.call('GET', '/readyz');
    expect(ready.status).toBe(200); // the email service being down is not the service being unready
    const order = (await svc.createOrder(token)).body;

    await waitFor(async () => (await svc.outbox('dead')).length > 0, 'the confirmation to be dead', 20_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${svc.server.output().slice(-3000)}`);
      },
    );
    const dead = (await svc.call('GET', '/api/admin/outbox?status=dead', { token: admin })).body;
    expect(dead.next_cursor).toBeNull();
    expect(dead.items).toHaveLength(1);
    const item = dead.items[0];
    expect(item).toMatchObject({
      kind: 'email',
      topic: 'order_confirmation',
      status: 'dead',
      attempts: 3,
      delivered_at: null,
    });
    expect(item.last_error).toMatch(/ECONNREFUSED|fetch failed/);
    expect(sink.requests).toEqual([]);

    // Dead stays dead: never tried again on its own.
    await new Promise((r) => setTimeout(r, 300));
    expect((await svc.outbox('dead')).map((i: Json) => [i.id, i.attempts])).toEqual([[item.id, 3]]);

    // Still ready, still taking orders, while the email service is down.
    expect((await svc.call('GET', '/readyz')).status).toBe(200);
    const second = await svc.createOrder(token);
    expect(second.status).toBe(201);

    await gate.set('up');
    const retried = await svc.call('POST', `/api/admin/outbox/${item.id}/retry`, { token: admin });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: item.id, status: 'pending', attempts: 0, topic: 'order_confirmation' });

    await waitFor(() => sink.accepted.includes(item.id), 'the retried confirmation', 20_000);
    await waitFor(
      async () => (await svc.outbox('delivered')).some((i: Json) => i.id === item.id),
      'the retried message to be delivered',
      10_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    const posts = sink.requests.filter((r) => r.body.id === item.id);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers['idempotency-key']).toBe(item.id);
    expect(posts[0]!.body).toMatchObject({ kind: 'order_confirmation', order_id: order.id });
    expect((await svc.outbox('dead')).filter((i: Json) => i.id === item.id)).toEqual([]);

    // Retrying what was delivered is not a retry.
    expectProblem(
      await svc.call('POST', `/api/admin/outbox/${item.id}/retry`, { token: admin }),
      409,
      'invalid_transition',
    );
  });

  it('admin routes: no token 401, not an admin 403, unknown id 404 not_found, all problem+json', async () => {
    const user = await tokenFor(uid('nosy'));
    const someId = randomUUID();
    for (const [method, path] of [
      ['GET', '/api/admin/outbox?status=dead'],
      ['POST', `/api/admin/outbox/${someId}/retry`],
    ] as const) {
      const anonymous = await svc.call(method, path);
      expectProblem(anonymous, 401, 'invalid_token');
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectProblem(await svc.call(method, path, { token: 'not-a-jwt' }), 401, 'invalid_token');
      expectProblem(await svc.call(method, path, { token: user }), 403, 'forbidden');
    }
    expectProblem(await svc.call('POST', `/api/admin/outbox/${someId}/retry`, { token: admin }), 404, 'not_found');
    expectProblem(await svc.call('POST', '/api/admin/outbox/not-a-uuid/retry', { token: admin }), 404, 'not_found');
    expectProblem(await svc.call('GET', '/api/admin/outbox?status=lost', { token: admin }), 422, 'validation_error');
  });
});
