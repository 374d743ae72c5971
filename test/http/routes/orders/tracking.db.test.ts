import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, expectProblem, expectValidation, getJson, placedOrder, uid } from '../../../helpers/http.js';
import { buildTestApp } from '../../../helpers/app.js';

describe.each(DATABASES)('tracking on %s', (kind) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await buildTestApp(kind);
    admin = await t.token(uid('ops'), { roles: ['admin'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const setStatus = (token: string, id: string, payload: unknown) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/status`,
      headers: bearer(token),
      payload: payload as object,
    });
  const history = (token: string, id: string) => getJson(t, token, `/api/orders/${id}/history`);

  it('admin: pending → processing → shipped (with tracking) → delivered, each visible to the owner', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    const p = await setStatus(admin, order.id, { status: 'processing', note: 'picking' });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toEqual({ ...order, status: 'processing', updated_at: expect.any(String) });

    const tracking = { carrier: 'UPS', number: '1Z999AA10123456784' };
    const s = await setStatus(admin, order.id, { status: 'shipped', tracking });
    expect(s.statusCode).toBe(200);
    expect(s.json()).toMatchObject({ status: 'shipped', tracking });

    const d = await setStatus(admin, order.id, { status: 'delivered', note: 'left at the door' });
    expect(d.statusCode).toBe(200);
    expect(d.json()).toMatchObject({ status: 'delivered', tracking });

    const seen = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(seen).toEqual(d.json());
    expect(Date.parse(seen.updated_at)).toBeGreaterThanOrEqual(Date.parse(seen.created_at));
  });

  it('history: oldest first, first entry pending by the customer, then one entry per change with actor and note', async () => {
    const owner = uid('owner');
    const { order, token } = await placedOrder(t, owner);
    const opsAdmin = await t.token(uid('ops2'), { roles: ['admin'] });
    const opsSub = JSON.parse(Buffer.from(opsAdmin.split('.')[1]!, 'base64url').toString()).sub;
    await setStatus(admin, order.id, { status: 'processing' });
    await setStatus(opsAdmin, order.id, {
      status: 'shipped',
      note: 'DHL pickup',
      tracking: { carrier: 'DHL', number: 'JD0001' },
    });
    for (const reader of [token, admin]) {
      const res = await history(reader, order.id);
      expect(res.statusCode).toBe(200);
      const items = res.json().items;
      expect(items).toEqual([
        { status: 'pending', at: order.created_at, actor: owner, note: null },
        { status: 'processing', at: expect.any(String), actor: expect.stringMatching(/^ops_/), note: null },
        { status: 'shipped', at: expect.any(String), actor: opsSub, note: 'DHL pickup' },
      ]);
      const times = items.map((i: { at: string }) => Date.parse(i.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    }
  });

  it('a cancelled order’s history ends with the cancellation', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/cancel`,
      headers: bearer(token),
      payload: { reason: 'too slow' },
    });
    const items = (await history(token, order.id)).json().items;
    expect(items.map((i: { status: string }) => i.status)).toEqual(['pending', 'cancelled']);
    expect(items[1]).toMatchObject({ actor: order.user_id, note: 'too slow' });
  });

  it.each([
    ['pending', 'shipped', []],
    ['pending', 'delivered', []],
    ['processing', 'processing', ['processing']],
    ['processing', 'delivered', ['processing']],
    ['shipped', 'processing', ['processing', 'shipped']],
    ['delivered', 'shipped', ['processing', 'shipped', 'delivered']],
  ])('%s → %s → 409 invalid_transition, nothing recorded', async (from, to, path) => {
    const { order, token } = await placedOrder(t, uid('owner'));
    for (const s of path) expect((await setStatus(admin, order.id, { status: s })).statusCode).toBe(200);
    const before = (await history(token, order.id)).json().items;
    expectProblem(await setStatus(admin, order.id, { status: to }), 409, 'invalid_transition');
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().status).toBe(from);
    expect((await history(token, order.id)).json().items).toEqual(before);
  });

  it('a cancelled order cannot be moved on → 409 invalid_transition', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/orders/${order.id}/cancel`, headers: bearer(token) }))
        .statusCode,
    ).toBe(200);
    expectProblem(await setStatus(admin, order.id, { status: 'processing' }), 409, 'invalid_transition');
  });

  it.each([
    ['status cancelled (only through the cancel route)', { status: 'cancelled' }, '/status'],
    ['status pending', { status: 'pending' }, '/status'],
    ['an unknown status', { status: 'lost' }, '/status'],
    ['no status', { note: 'hi' }, '/status'],
    ['an unknown field', { status: 'processing', eta: 'tomorrow' }, '/eta'],
    ['tracking without a number', { status: 'processing', tracking: { carrier: 'UPS' } }, '/tracking'],
    [
      'tracking with an unknown field',
      { status: 'processing', tracking: { carrier: 'UPS', number: '1', url: 'x' } },
      '/tracking/url',
    ],
    ['a note over 500 characters', { status: 'processing', note: 'x'.repeat(501) }, '/note'],
  ])('%s → 422 validation_error, order unchanged', async (_what, payload, path) => {
    const { order, token } = await placedOrder(t, uid('owner'));
    expectValidation(await setStatus(admin, order.id, payload), path);
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().status).toBe('pending');
  });

  it('a non-admin (even the owner) → 403 forbidden, order unchanged', async () => {
    const { order, token } = await placedOrder(t, uid('owner'));
    expectProblem(await setStatus(token, order.id, { status: 'processing' }), 403, 'forbidden');
    expectProblem(await setStatus(await t.token(uid('other')), order.id, { status: 'processing' }), 403, 'forbidden');
    expect((await getJson(t, token, `/api/orders/${order.id}`)).json().status).toBe('pending');
  });

  it('status and history of an unknown order → 404 order_not_found', async () => {
    for (const id of [randomUUID(), 'nope']) {
      expectProblem(await setStatus(admin, id, { status: 'processing' }), 404, 'order_not_found');
      expectProblem(await history(admin, id), 404, 'order_not_found');
    }
  });

  it('history of someone else’s order → 403 forbidden', async () => {
    const { order } = await placedOrder(t, uid('owner'));
    expectProblem(await history(await t.token(uid('mallory')), order.id), 403, 'forbidden');
  });

  it('without a token → 401 on both routes', async () => {
    const id = randomUUID();
    expectProblem(
      await t.app.inject({ method: 'POST', url: `/api/orders/${id}/status`, payload: { status: 'processing' } }),
      401,
      'invalid_token',
    );
    expectProblem(await t.app.inject({ method: 'GET', url: `/api/orders/${id}/history` }), 401, 'invalid_token');
  });
});
