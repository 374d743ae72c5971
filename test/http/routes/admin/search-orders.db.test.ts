import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, expectProblem, expectValidation, getJson, uid } from '../../../helpers/http.js';

/** Support's search, GET /api/admin/orders, through HTTP on both databases. */
describe.each(DATABASES)('admin order search on %s', (kind) => {
  let t: TestApp;
  let admin: string;
  let now = new Date('2031-03-01T10:00:00.000Z');
  const at = (iso: string) => (now = new Date(iso));
  const alice = uid('alice');
  const bob = uid('bob');
  const email = `${uid('Alice')}@Example.COM`;
  let a: string[] = []; // alice's orders, oldest first
  let b: string[] = []; // bob's

  beforeAll(async () => {
    t = await buildTestApp(kind, { app: { clock: () => new Date(now) } });
    admin = await t.adminToken();
    const sku = uid('sku');
    await putProduct(t, sku, { price: 250, stock: null });
    const place = async (sub: string, when: string, extra: Record<string, unknown> = {}) => {
      at(when);
      const res = await createOrder(
        t,
        await t.token(sub),
        orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', extra),
      );
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    a = [
      await place(alice, '2031-03-01T10:00:00.000Z', { email }),
      await place(alice, '2031-03-01T11:00:00.000Z', { email }),
      await place(alice, '2031-03-01T12:00:00.000Z', { email }),
    ];
    b = [await place(bob, '2031-03-01T13:00:00.000Z'), await place(bob, '2031-03-01T14:00:00.000Z')];
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${b[1]}/status`,
      headers: bearer(admin),
      payload: { status: 'processing' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  const search = (query: string) => getJson(t, admin, `/api/admin/orders?${query}`);
  const ids = async (query: string) => {
    const res = await search(query);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as { id: string }[]).map((o) => o.id);
  };

  it('answers 401 without a token and 403 without the admin role, on every admin route', async () => {
    const user = await t.token(uid('shopper'));
    const routes = [
      { method: 'GET' as const, url: '/api/admin/orders' },
      { method: 'GET' as const, url: '/api/admin/orders?q=x' },
      { method: 'GET' as const, url: '/api/admin/outbox' },
      { method: 'POST' as const, url: '/api/admin/outbox/00000000-0000-0000-0000-000000000000/retry' },
    ];
    for (const r of routes) {
      expectProblem(await t.app.inject({ ...r }), 401, 'invalid_token');
      expectProblem(await t.app.inject({ ...r, headers: bearer(user) }), 403, 'forbidden');
    }
  });

  it('lists every customer, newest first, in the order shape of GET /api/orders', async () => {
    const res = await search('limit=5');
    expect(res.statusCode).toBe(200);
    const page = res.json();
    expect(page.items.map((o: { id: string }) => o.id)).toEqual([...a, ...b].reverse());
    const own = await getJson(t, await t.token(alice), `/api/orders/${a[0]}`);
    expect(page.items[4]).toEqual(own.json());
    expect(page.next_cursor).toBeNull();
  });

  it('filters by email (exact, case-insensitive), user_id and status, combined with AND', async () => {
    expect(await ids(`email=${encodeURIComponent(email.toLowerCase())}`)).toEqual([...a].reverse());
    expect(await ids(`email=${encodeURIComponent(email.toUpperCase())}`)).toEqual([...a].reverse());
    expect(await ids(`email=${encodeURIComponent(email.slice(1))}`)).toEqual([]);
    expect(await ids(`user_id=${bob}`)).toEqual([...b].reverse());
    expect(await ids(`user_id=${bob}&status=processing`)).toEqual([b[1]]);
    expect(await ids(`user_id=${bob}&status=pending`)).toEqual([b[0]]);
    expect(await ids(`user_id=${alice}&status=processing`)).toEqual([]);
    expect(await ids(`status=processing`)).toEqual([b[1]]);
  });

  it('filters by creation time: created_from inclusive, created_to exclusive, any RFC 3339 offset', async () => {
    expect(await ids('created_from=2031-03-01T11:00:00.000Z&created_to=2031-03-01T13:00:00Z')).toEqual([a[2], a[1]]);
    expect(
      await ids(`created_from=${encodeURIComponent('2031-03-01T12:00:00+01:00')}&created_to=2031-03-01T12:00:00Z`),
    ).toEqual([a[1]]);
    expect(await ids('created_from=2031-03-01T14:00:00.000Z')).toEqual([b[1]]);
    expect(await ids('created_from=2031-03-01T11:00:00Z&created_to=2031-03-01T11:00:00Z')).toEqual([]);
  });

  it('q finds a whole order id, its first 8 hex digits, an email or a user id', async () => {
    const target = a[1]!;
    expect(await ids(`q=${target}`)).toEqual([target]);
    expect(await ids(`q=${target.toUpperCase()}`)).toEqual([target]);
    const short = await ids(`q=${target.slice(0, 8)}`);
    expect(short).toContain(target);
    expect(short.every((id) => id.startsWith(target.slice(0, 8)))).toBe(true);
    expect(await ids(`q=${encodeURIComponent(email.toLowerCase())}`)).toEqual([...a].reverse());
    expect(await ids(`q=${bob}`)).toEqual([...b].reverse());
    expect(await ids(`q=${bob}&status=pending`)).toEqual([b[0]]);
    expect(await ids(`q=${uid('nobody')}`)).toEqual([]);
  });

  it('q is also a user id when it looks like an order id or an email (a UUID sub)', async () => {
    const sub = '0a1b2c3d-0000-4000-8000-00000000abcd';
    const sku = uid('sku');
    await putProduct(t, sku, { price: 100, stock: null });
    at('2031-03-02T09:00:00.000Z');
    const res = await createOrder(t, await t.token(sub), orderBody([{ product_id: sku, quantity: 1 }]));
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    expect(await ids(`q=${sub}`)).toEqual([id]);
    expect(await ids(`q=${id}`)).toEqual([id]);
  });

  it('pages with the same keyset cursors: every match exactly once, the filters kept', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await search(`user_id=${alice}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...a].reverse());
    // A q read two ways (an email, and a user id) pages as one list too.
    const first = (await search(`q=${encodeURIComponent(email)}&limit=2`)).json();
    const second = (
      await search(`q=${encodeURIComponent(email)}&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`)
    ).json();
    expect([...first.items, ...second.items].map((o: { id: string }) => o.id)).toEqual([...a].reverse());
    expect(second.next_cursor).toBeNull();
  });

  it('bad filters are 422: dates that are not RFC 3339, from after to, unknown parameters, bad cursors', async () => {
    for (const bad of ['2031-03-01', '2031-03-01T10:00:00', '01/03/2031', '2031-13-01T00:00:00Z', 'yesterday']) {
      expectValidation(await search(`created_from=${encodeURIComponent(bad)}`), '/querystring/created_from');
      expectValidation(await search(`created_to=${encodeURIComponent(bad)}`), '/querystring/created_to');
    }
    const body = expectValidation(
      await search('created_from=2031-03-02T00:00:00Z&created_to=2031-03-01T00:00:00Z'),
      '/querystring/created_from',
    );
    expect(body.detail).toMatch(/after/);
    expectProblem(await search('sort=asc'), 422, 'validation_error');
    expectProblem(await search('status=lost'), 422, 'validation_error');
    expectProblem(await search('limit=101'), 422, 'validation_error');
    expectProblem(await search('q='), 422, 'validation_error');
    expectProblem(await search('cursor=not-a-cursor'), 422, 'invalid_cursor');
    expectProblem(await search(`cursor=${'A'.repeat(600)}`), 422, 'invalid_cursor');
  });
});
