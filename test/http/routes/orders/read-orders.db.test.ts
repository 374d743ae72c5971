import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { createOrder, expectProblem, expectValidation, getJson, placedOrder, uid } from '../../../helpers/http.js';

describe.each(DATABASES)('reading orders on %s', (kind) => {
  let t: TestApp;
  let sku: string;
  beforeAll(async () => {
    t = await buildTestApp(kind);
    sku = uid('sku');
    await putProduct(t, sku, { price: 100, stock: null });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** `n` orders for a fresh user, oldest first. */
  async function ordersFor(n: number, user = uid('lister')) {
    const token = await t.token(user);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await createOrder(t, token, orderBody([{ product_id: sku, quantity: i + 1 }]));
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
    }
    return { user, token, ids };
  }

  async function pageThrough(token: string, query: string, limit: number, between?: () => Promise<void>) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/orders?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await getJson(t, token, url);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.next_cursor;
      pages++;
      if (between) await between();
    } while (cursor !== null && pages < 100);
    return { seen, pages };
  }

  describe('GET /api/orders/{id}', () => {
    it('the owner reads it (200), and so does an admin', async () => {
      const { order, token } = await placedOrder(t, uid('owner'));
      const mine = await getJson(t, token, `/api/orders/${order.id}`);
      expect(mine.statusCode).toBe(200);
      expect(mine.json()).toEqual(order);
      const asAdmin = await getJson(t, await t.adminToken(), `/api/orders/${order.id}`);
      expect(asAdmin.statusCode).toBe(200);
      expect(asAdmin.json()).toEqual(order);
    });

    it('someone else → 403 forbidden, without the order in the body', async () => {
      const { order } = await placedOrder(t, uid('owner'));
      const res = await getJson(t, await t.token(uid('mallory')), `/api/orders/${order.id}`);
      const body = expectProblem(res, 403, 'forbidden');
      expect(res.body).not.toContain(order.payment.transaction_id);
      expect(body.items).toBeUndefined();
    });

    it('a user whose roles do not include admin is not an admin', async () => {
      const { order } = await placedOrder(t, uid('owner'));
      const res = await getJson(
        t,
        await t.token(uid('x'), { roles: ['support', 'Admin', 'administrator'] }),
        `/api/orders/${order.id}`,
      );
      expectProblem(res, 403, 'forbidden');
      const notArray = await getJson(t, await t.token(uid('y'), { roles: 'admin' }), `/api/orders/${order.id}`);
      expectProblem(notArray, 403, 'forbidden');
    });

    it('an upper-case spelling of the id finds the same order', async () => {
      const { order, token } = await placedOrder(t, uid('owner'));
      const res = await getJson(t, token, `/api/orders/${order.id.toUpperCase()}`);
      expect(res.statusCode).toBe(200);
      expect(res.json().id).toBe(order.id);
    });

    it.each([
      ['an unknown uuid', randomUUID()],
      ['not a uuid', 'not-a-uuid'],
      ['a number', '12345'],
      ['SQL', "1' or '1'='1"],
      ['a uuid with junk', `${randomUUID()}x`],
    ])('%s → 404 order_not_found', async (_what, id) => {
      const res = await getJson(t, await t.token(uid('u')), `/api/orders/${encodeURIComponent(id)}`);
      expectProblem(res, 404, 'order_not_found');
    });

    it('an unknown uuid is 404 for an admin too', async () => {
      expectProblem(await getJson(t, await t.adminToken(), `/api/orders/${randomUUID()}`), 404, 'order_not_found');
    });
  });

  describe('GET /api/orders', () => {
    it('newest first, only the caller’s orders, on both paths', async () => {
      const { token, ids } = await ordersFor(3);
      await ordersFor(2); // someone else's
      for (const url of ['/api/orders', '/api/orders/']) {
        const res = await getJson(t, token, url);
        expect(res.statusCode).toBe(200);
        const page = res.json();
        expect(page.items.map((o: { id: string }) => o.id)).toEqual([...ids].reverse());
        expect(page.next_cursor).toBeNull();
        expect(page.items[0]).toMatchObject({ status: 'pending', items: [{ product_id: sku, quantity: 3 }] });
      }
    });

    it('an admin lists their own orders, not everybody’s', async () => {
      await ordersFor(1);
      const res = await getJson(t, await t.token(uid('admin'), { roles: ['admin'] }), '/api/orders');
      expect(res.json()).toEqual({ items: [], next_cursor: null });
    });

    it('a user with no orders gets an empty page', async () => {
      expect((await getJson(t, await t.token(uid('nobody')), '/api/orders')).json()).toEqual({
        items: [],
        next_cursor: null,
      });
    });

    it('limit defaults to 20; 1 and 100 are accepted', async () => {
      const { token, ids } = await ordersFor(21);
      const first = (await getJson(t, token, '/api/orders')).json();
      expect(first.items).toHaveLength(20);
      expect(first.next_cursor).toEqual(expect.any(String));
      expect((await getJson(t, token, '/api/orders?limit=1')).json().items.map((o: { id: string }) => o.id)).toEqual([
        ids[20],
      ]);
      const all = (await getJson(t, token, '/api/orders?limit=100')).json();
      expect(all.items).toHaveLength(21);
      expect(all.next_cursor).toBeNull();
    });

    it.each(['0', '101', 'abc', '-1', '1.5', ''])('limit=%s → 422 validation_error', async (limit) => {
      const res = await getJson(t, await t.token(uid('u')), `/api/orders?limit=${limit}`);
      expectValidation(res);
      expect(JSON.stringify(res.json().errors)).toContain('limit');
    });

    it('an unknown query parameter or status → 422', async () => {
      const token = await t.token(uid('u'));
      expectValidation(await getJson(t, token, '/api/orders?offset=10'));
      expectValidation(await getJson(t, token, '/api/orders?status=lost'));
    });

    it('paging with a cursor sees every order exactly once', async () => {
      const { token, ids } = await ordersFor(7);
      for (const limit of [1, 2, 3, 7]) {
        const { seen, pages } = await pageThrough(token, '', limit);
        expect(seen).toEqual([...ids].reverse());
        expect(pages).toBe(Math.ceil(7 / limit)); // the last full page already says next_cursor: null
      }
    });

    it('orders created between pages do not disturb the walk: every earlier order exactly once', async () => {
      const { user, token, ids } = await ordersFor(6);
      const { seen } = await pageThrough(token, '', 2, async () => {
        const res = await createOrder(t, await t.token(user), orderBody([{ product_id: sku, quantity: 1 }]));
        expect(res.statusCode).toBe(201);
      });
      expect(seen).toEqual([...ids].reverse());
    });

    it('status filter, with paging', async () => {
      const { token, ids } = await ordersFor(5);
      for (const id of [ids[1], ids[3]]) {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/orders/${id}/cancel`,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
      expect((await pageThrough(token, '&status=cancelled', 1)).seen).toEqual([ids[3], ids[1]]);
      expect((await pageThrough(token, '&status=pending', 2)).seen).toEqual([ids[4], ids[2], ids[0]]);
      expect((await pageThrough(token, '&status=shipped', 2)).seen).toEqual([]);
    });

    it('a cursor is only good for its own list: another user’s cursor shows none of their orders', async () => {
      const a = await ordersFor(3);
      const b = await ordersFor(3);
      const cursor = (await getJson(t, a.token, '/api/orders?limit=1')).json().next_cursor;
      const res = await getJson(t, b.token, `/api/orders?cursor=${cursor}`);
      expect(res.statusCode).toBe(200);
      for (const o of res.json().items) expect(a.ids).not.toContain(o.id);
    });

    it.each([
      ['garbage', 'garbage'],
      ['longer than any cursor issued', 'A'.repeat(600)],
      ['a product cursor', 'PRODUCT'],
      ['an edited cursor', 'EDITED'],
      [
        'base64 JSON',
        Buffer.from(JSON.stringify(['o1', '2026-01-01T00:00:00.000Z', randomUUID()])).toString('base64url'),
      ],
    ])('%s → 422 invalid_cursor', async (_what, cursor) => {
      const { token } = await ordersFor(2);
      let c = cursor;
      if (cursor === 'PRODUCT') c = (await getJson(t, token, '/api/products?limit=1')).json().next_cursor;
      if (cursor === 'EDITED') {
        const real: string = (await getJson(t, token, '/api/orders?limit=1')).json().next_cursor;
        c = real.slice(0, 12) + (real[12] === 'A' ? 'B' : 'A') + real.slice(13);
      }
      expect(c).toBeTruthy();
      const res = await getJson(t, token, `/api/orders?cursor=${encodeURIComponent(c)}`);
      expectProblem(res, 422, 'invalid_cursor');
    });
  });
});
