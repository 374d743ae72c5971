import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_SECRET, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, expectProblem, expectValidation, getJson, orderCount, stockOf, uid } from '../helpers/http.js';

/** Counts of every table a refused request must leave alone. */
async function rows(t: TestApp) {
  const tables = [
    'orders',
    'order_items',
    'payment_transactions',
    'order_status_history',
    'idempotency_keys',
    'outbox',
    'products',
  ] as const;
  const counts: Record<string, number> = {};
  for (const table of tables) {
    counts[table] = Number(
      (
        await t.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  }
  return counts;
}

/** A JSON body with a raw escape sequence in it (JSON.stringify would write a lone surrogate as `\ud800` too, but say so plainly). */
const withEscape = (body: object, marker: string, escape: string) => JSON.stringify(body).replace(marker, escape);

describe.each(DATABASES)('hostile text on %s', (kind) => {
  let t: TestApp;
  // Known when the table of cases below is built (before beforeAll runs).
  const sku = uid('sku');
  beforeAll(async () => {
    t = await buildTestApp(kind);
    await putProduct(t, sku, { price: 100, stock: 10 });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = async (payload: string, token?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { ...bearer(token ?? (await t.token(uid('u')))), 'content-type': 'application/json' },
      payload,
    });

  it.each([
    [
      'a NUL in payment.source',
      '/payment/source',
      orderBody([{ product_id: sku, quantity: 1 }], 'MARK'),
      '"pm_card_visa\\u0000"',
    ],
    [
      'a lone high surrogate in shipping_address.name',
      '/shipping_address/name',
      orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', {
        shipping_address: { name: 'MARK', line1: '1 Main St', city: 'X', postal_code: '1', country: 'US' },
      }),
      '"A\\ud800"',
    ],
    [
      'a lone low surrogate in shipping_address.city',
      '/shipping_address/city',
      orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', {
        shipping_address: { name: 'A', line1: '1 Main St', city: 'MARK', postal_code: '1', country: 'US' },
      }),
      '"\\udc00x"',
    ],
  ])('%s → 422 naming %s; no order, no stock taken, no transaction, no message', async (_what, path, body, escaped) => {
    const before = await rows(t);
    const res = await post(withEscape(body, '"MARK"', escaped));
    const problem = expectValidation(res, path);
    // The text is the only thing wrong (a nullable object adds its anyOf's "must be null" on the parent).
    for (const e of problem.errors as { path: string }[]) expect(path.startsWith(e.path)).toBe(true);
    expect(await rows(t)).toEqual(before);
    expect(await stockOf(t, sku)).toBe(10);
  });

  it('RTL marks, combining marks and astral characters are text: stored and returned exactly', async () => {
    const name = 'A\u200Flice \u05E9\u05DC\u05D5\u05DD e\u0301 \u{1F600}';
    const res = await post(
      JSON.stringify(
        orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', {
          shipping_address: { name, line1: '1', city: 'X', postal_code: '1', country: 'US' },
        }),
      ),
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().shipping_address.name).toBe(name);
  });

  it('a NUL in a product name (admin) → 422 /name; in a query → 422 /querystring/cursor; in a path → 422 /params/order_id', async () => {
    const admin = await t.adminToken();
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/products/${uid('p')}`,
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      payload: '{"name":"a\\u0000b","price":1,"currency":"USD","active":true,"stock":null}',
    });
    expectValidation(put, '/name');
    expectValidation(await getJson(t, admin, '/api/orders?cursor=%00'), '/querystring/cursor');
    expectValidation(await getJson(t, admin, '/api/orders/%00'), '/params/order_id');
  });

  it('a token whose sub cannot be stored → 401 invalid_token, nothing written', async () => {
    const before = await rows(t);
    for (const sub of ['a\u0000b', 'x\ud800']) {
      const res = await post(JSON.stringify(orderBody([{ product_id: sku, quantity: 1 }])), await t.token(sub));
      expectProblem(res, 401, 'invalid_token');
    }
    expect(await rows(t)).toEqual(before);
  });

  it("a token email that is not an address is ignored (the order has none); the body's email still wins", async () => {
    for (const email of ['not an email', 'a\u0000@example.com', 42]) {
      const token = await t.token(uid('u'), { email });
      const res = await post(JSON.stringify(orderBody([{ product_id: sku, quantity: 1 }])), token);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().email).toBeNull();
    }
    const res = await post(
      JSON.stringify(orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', { email: 'bob@example.com' })),
      await t.token(uid('u'), { email: 'nope' }),
    );
    expect(res.json().email).toBe('bob@example.com');
  });

  it('query integers are decimal digits only: limit=0x10, 1e1, 16.0, " 16" → 422 /querystring/limit; limit=16 → 200', async () => {
    const token = await t.token(uid('u'));
    for (const limit of ['0x10', '1e1', '16.0', '%2016', ''])
      expectValidation(await getJson(t, token, `/api/orders?limit=${limit}`), '/querystring/limit');
    expect((await getJson(t, token, '/api/orders?limit=16')).statusCode).toBe(200);
    expectValidation(await getJson(t, token, '/api/products?limit=0x2'), '/querystring/limit');
  });

  it('a body quantity of 2.0 or 2e0 is the integer 2 (JSON cannot tell them apart); 1.5 is not a quantity', async () => {
    const user = uid('u');
    const token = await t.token(user);
    const body = JSON.stringify(orderBody([{ product_id: sku, quantity: 1 }]));
    for (const q of ['2.0', '2e0']) {
      const res = await post(body.replace('"quantity":1', `"quantity":${q}`), token);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().items[0].quantity).toBe(2);
    }
    expectValidation(await post(body.replace('"quantity":1', '"quantity":1.5'), token), '/items/0/quantity');
    expect(await orderCount(t, user)).toBe(2);
  });

  it('a token without exp → 401 by default; accepted with JWT_REQUIRE_EXP=false', async () => {
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(uid('u'))
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_SECRET));
    expectProblem(await getJson(t, noExp, '/api/orders'), 401, 'invalid_token');
    const lax = await buildTestApp(t, { env: { JWT_REQUIRE_EXP: 'false' } });
    try {
      expect((await lax.app.inject({ method: 'GET', url: '/api/orders', headers: bearer(noExp) })).statusCode).toBe(
        200,
      );
    } finally {
      await lax.close();
    }
  });
});
