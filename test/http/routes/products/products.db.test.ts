import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, expectProblem, expectValidation, getJson, uid } from '../../../helpers/http.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const valid = { name: 'T-shirt', price: 1999, currency: 'USD', active: true, stock: 10 };

describe.each(DATABASES)('catalog on %s', (kind) => {
  let t: TestApp;
  let admin: string;
  let user: string;
  beforeAll(async () => {
    t = await buildTestApp(kind);
    admin = await t.adminToken();
    user = await t.token(uid('shopper'));
  });
  afterAll(async () => {
    await t?.close();
  });

  const put = (token: string, id: string, payload: unknown) =>
    t.app.inject({ method: 'PUT', url: `/api/products/${id}`, headers: bearer(token), payload: payload as object });

  describe('PUT /api/products/{id}', () => {
    it('an admin creates, then replaces, a product; GET shows the latest', async () => {
      const id = uid('sku');
      const created = await put(admin, id, valid);
      expect(created.statusCode, created.body).toBe(200);
      expect(created.json()).toEqual({
        id,
        ...valid,
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
      });
      const replaced = await put(admin, id, { name: 'Tee', price: 0, currency: 'EUR', active: false, stock: null });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json()).toEqual({
        id,
        name: 'Tee',
        price: 0,
        currency: 'EUR',
        active: false,
        stock: null,
        created_at: created.json().created_at,
        updated_at: expect.stringMatching(ISO),
      });
      const got = await getJson(t, admin, `/api/products/${id}`);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(replaced.json());
    });

    it.each(['A', 'sku_1.v2-RED', 'x'.repeat(64)])('id %s is allowed', async (id) => {
      const unique = id.length === 64 ? uid('s').padEnd(64, 'x') : `${id}${uid('')}`;
      expect((await put(admin, unique, valid)).statusCode).toBe(200);
    });

    it('a very large price stays exact', async () => {
      const id = uid('big');
      expect((await put(admin, id, { ...valid, price: Number.MAX_SAFE_INTEGER })).json().price).toBe(
        Number.MAX_SAFE_INTEGER,
      );
      expect((await getJson(t, user, `/api/products/${id}`)).json().price).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('a user without the admin role → 403 forbidden, nothing written', async () => {
      const id = uid('sku');
      expectProblem(await put(user, id, valid), 403, 'forbidden');
      expectProblem(await getJson(t, user, `/api/products/${id}`), 404, 'product_not_found');
    });

    it('without a token, or with a bad one → 401, nothing written', async () => {
      const id = uid('sku');
      const res = await t.app.inject({ method: 'PUT', url: `/api/products/${id}`, payload: valid });
      expectProblem(res, 401, 'invalid_token');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"');
      expectProblem(
        await t.app.inject({
          method: 'PUT',
          url: `/api/products/${id}`,
          headers: { authorization: 'Bearer x.y.z' },
          payload: valid,
        }),
        401,
        'invalid_token',
      );
      expectProblem(await getJson(t, user, `/api/products/${id}`), 404, 'product_not_found');
    });

    // A malformed id is bad input (422), not a missing resource: no such product could ever exist.
    it.each([
      ['a space', 'has%20space'],
      ['65 characters', 'x'.repeat(65)],
      ['a non-ASCII letter', 'caf%C3%A9'],
      ['a comma', 'a,b'],
    ])('an id with %s → 422 validation_error at /params/product_id', async (_what, id) => {
      expectValidation(await put(admin, id, valid), '/params/product_id');
    });

    it.each([
      ['negative price', { price: -1 }, '/price'],
      ['float price', { price: 19.99 }, '/price'],
      ['string price', { price: '1999' }, '/price'],
      ['price beyond a safe integer', { price: 2 ** 53 }, '/price'],
      ['negative stock', { stock: -1 }, '/stock'],
      ['float stock', { stock: 1.5 }, '/stock'],
      ['string stock', { stock: '5' }, '/stock'],
      ['lower-case currency', { currency: 'usd' }, '/currency'],
      ['4-letter currency', { currency: 'USDT' }, '/currency'],
      ['empty name', { name: '' }, '/name'],
      ['string active', { active: 'yes' }, '/active'],
      ['an unknown field', { colour: 'red' }, '/colour'],
      ['an id in the body', { id: 'other' }, '/id'],
    ])('%s → 422 at %s', async (_what, patch, path) => {
      const id = uid('sku');
      expectValidation(await put(admin, id, { ...valid, ...patch }), path);
      expectProblem(await getJson(t, user, `/api/products/${id}`), 404, 'product_not_found');
    });

    it.each(['name', 'price', 'currency', 'active', 'stock'])('missing %s → 422 at /%s', async (field) => {
      const body: Record<string, unknown> = { ...valid };
      delete body[field];
      expectValidation(await put(admin, uid('sku'), body), `/${field}`);
    });
  });

  describe('GET /api/products/{id}', () => {
    it('an inactive product is 404 product_not_found for a customer; an admin still reads it', async () => {
      const id = uid('sku');
      await putProduct(t, id, { price: 500, active: false, stock: 0 });
      expectProblem(await getJson(t, user, `/api/products/${id}`), 404, 'product_not_found');
      const res = await getJson(t, admin, `/api/products/${id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, price: 500, active: false, stock: 0 });
      await putProduct(t, id, { price: 500, active: true, stock: 0 });
      expect((await getJson(t, user, `/api/products/${id}`)).statusCode).toBe(200);
    });

    it('an unknown id → 404 product_not_found', async () => {
      expectProblem(await getJson(t, user, `/api/products/${uid('ghost')}`), 404, 'product_not_found');
    });

    it('a malformed id → 422 validation_error', async () => {
      expectValidation(await getJson(t, user, `/api/products/${'y'.repeat(65)}`), '/params/product_id');
    });

    it('without a token → 401', async () => {
      expectProblem(await t.app.inject({ method: 'GET', url: '/api/products/x' }), 401, 'invalid_token');
    });
  });

  describe('GET /api/products', () => {
    it('active products only, by id, each exactly once across cursor pages', async () => {
      const prefix = uid('cat');
      const active = ['d', 'a', 'c', 'e', 'b'].map((s) => `${prefix}_${s}`);
      for (const id of active) await putProduct(t, id, { price: 100 });
      await putProduct(t, `${prefix}_ab`, { price: 100, active: false });
      for (const limit of [1, 2, 100]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await getJson(t, user, `/api/products?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.statusCode, res.body).toBe(200);
          const page: { items: { id: string; active: boolean }[]; next_cursor: string | null } = res.json();
          expect(page.items.length).toBeLessThanOrEqual(limit);
          for (const p of page.items) expect(p.active).toBe(true);
          seen.push(...page.items.map((p) => p.id));
          cursor = page.next_cursor;
        } while (cursor && ++pages < 1000);
        expect(new Set(seen).size).toBe(seen.length);
        expect([...seen].sort()).toEqual(seen);
        expect(seen.filter((id) => id.startsWith(prefix))).toEqual([...active].sort());
      }
    });

    it('limit defaults to 20', async () => {
      for (let i = 0; i < 21; i++) await putProduct(t, uid('many'), { price: 1 });
      const page = (await getJson(t, user, '/api/products')).json();
      expect(page.items).toHaveLength(20);
      expect(page.next_cursor).toEqual(expect.any(String));
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'page=2'])('%s → 422 validation_error', async (query) => {
      expectValidation(await getJson(t, user, `/api/products?${query}`));
    });

    it('an order cursor or garbage → 422 invalid_cursor', async () => {
      expectProblem(await getJson(t, user, '/api/products?cursor=garbage'), 422, 'invalid_cursor');
      expectProblem(await getJson(t, user, `/api/products?cursor=${'A'.repeat(600)}`), 422, 'invalid_cursor');
      const other = Buffer.from(JSON.stringify(['p1', 'zzz'])).toString('base64url');
      expectProblem(await getJson(t, user, `/api/products?cursor=${other}`), 422, 'invalid_cursor');
    });
  });
});
