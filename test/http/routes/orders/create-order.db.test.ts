import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import {
  createOrder,
  expectProblem,
  expectValidation,
  getJson,
  orderCount,
  stockOf,
  uid,
} from '../../../helpers/http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe.each(DATABASES)('POST /api/orders/create on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function product(
    price = 1999,
    extra: { stock?: number | null; currency?: string; active?: boolean; name?: string } = {},
  ) {
    const id = uid('sku');
    await putProduct(t, id, { price, ...extra });
    return id;
  }

  it.each(['/api/orders/create', '/api/orders'])(
    '%s: 201, Location, the order priced from the catalog',
    async (url) => {
      const [tee, mug] = [await product(1999, { name: 'T-shirt', stock: 10 }), await product(850, { name: 'Mug' })];
      const user = uid('alice');
      const address = {
        name: 'Alice',
        line1: '1 Main St',
        line2: null,
        city: 'Springfield',
        postal_code: '12345',
        country: 'US',
      };
      const res = await createOrder(
        t,
        await t.token(user),
        orderBody(
          [
            { product_id: tee, quantity: 2, unit_price: 1999 },
            { product_id: mug, quantity: 1 },
          ],
          'pm_card_visa',
          { shipping_address: address },
        ),
        {},
        url,
      );
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const order = res.json();
      expect(res.headers.location).toBe(`/api/orders/${order.id}`);
      expect(order).toEqual({
        id: expect.stringMatching(UUID),
        user_id: user,
        status: 'pending',
        currency: 'USD',
        items: [
          {
            product_id: tee,
            name: 'T-shirt',
            quantity: 2,
            unit_price: 1999,
            line_total: 3998,
            quantity_cancelled: 0,
            quantity_returned: 0,
          },
          {
            product_id: mug,
            name: 'Mug',
            quantity: 1,
            unit_price: 850,
            line_total: 850,
            quantity_cancelled: 0,
            quantity_returned: 0,
          },
        ],
        total: 4848,
        current_total: 4848,
        payment: {
          transaction_id: expect.stringMatching(UUID),
          provider: 'sandbox',
          provider_reference: expect.any(String),
          status: 'succeeded',
          amount: 4848,
          currency: 'USD',
          amount_authorized: 4848,
          amount_captured: 4848,
          amount_refunded: 0,
          authorization_expires_at: null,
          next_action: null,
        },
        email: `${user}@example.com`,
        shipping_address: address,
        tracking: null,
        created_at: expect.stringMatching(ISO),
        updated_at: order.created_at,
      });
      expect(await stockOf(t, tee)).toBe(8);
      expect(await stockOf(t, mug)).toBeNull();
      // the Location is where the order is
      const got = await getJson(t, await t.token(user), res.headers.location as string);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(order);
    },
  );

  it('prices in a zero-decimal currency', async () => {
    const yen = await product(1200, { currency: 'JPY' });
    const res = await createOrder(t, await t.token(uid('u')), {
      ...orderBody([{ product_id: yen, quantity: 3 }]),
      currency: 'JPY',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ currency: 'JPY', total: 3600, payment: { amount: 3600, currency: 'JPY' } });
  });

  it('email: the body wins, else the token claim, else null', async () => {
    const p = await product();
    const user = uid('u');
    const explicit = await createOrder(
      t,
      await t.token(user),
      orderBody([{ product_id: p, quantity: 1 }], 'pm_card_visa', { email: 'other@example.org' }),
    );
    expect(explicit.json().email).toBe('other@example.org');
    const fromClaim = await createOrder(
      t,
      await t.token(user, { email: 'claim@example.net' }),
      orderBody([{ product_id: p, quantity: 1 }]),
    );
    expect(fromClaim.json().email).toBe('claim@example.net');
    const none = await createOrder(
      t,
      await t.token(user, { email: undefined }),
      orderBody([{ product_id: p, quantity: 1 }]),
    );
    expect(none.statusCode).toBe(201);
    expect(none.json().email).toBeNull();
  });

  it('unit_price different from the catalog → 409 price_changed, no order, stock unchanged', async () => {
    const p = await product(1999, { stock: 4 });
    const user = uid('u');
    const res = await createOrder(
      t,
      await t.token(user),
      orderBody([{ product_id: p, quantity: 1, unit_price: 1899 }]),
    );
    const body = expectProblem(res, 409, 'price_changed');
    expect(body.detail).toContain('1999');
    expect(await stockOf(t, p)).toBe(4);
    expect(await orderCount(t, user)).toBe(0);
  });

  it.each([
    ['missing', async () => uid('ghost')],
    ['inactive', async () => product(100, { active: false })],
  ])('a %s product → 422 unknown_product naming the line', async (_what, make) => {
    const [ok, bad] = [await product(), await make()];
    const res = await createOrder(
      t,
      await t.token(uid('u')),
      orderBody([
        { product_id: ok, quantity: 1 },
        { product_id: bad, quantity: 1 },
      ]),
    );
    const body = expectProblem(res, 422, 'unknown_product');
    expect(body.errors).toEqual([{ path: '/items/1/product_id', message: expect.any(String) }]);
  });

  it('a product priced in another currency → 422 currency_mismatch', async () => {
    const eur = await product(500, { currency: 'EUR' });
    const res = await createOrder(t, await t.token(uid('u')), orderBody([{ product_id: eur, quantity: 1 }]));
    expectProblem(res, 422, 'currency_mismatch');
  });

  it.each(['stripe', 'paypal', 'square'])(
    'provider %s without configuration → 422 provider_not_enabled, stock unchanged',
    async (provider) => {
      const p = await product(100, { stock: 2 });
      const user = uid('u');
      const res = await createOrder(t, await t.token(user), {
        ...orderBody([{ product_id: p, quantity: 1 }]),
        payment: { provider, source: 'pm_card_visa' },
      });
      expectProblem(res, 422, 'provider_not_enabled');
      expect(await stockOf(t, p)).toBe(2);
      expect(await orderCount(t, user)).toBe(0);
    },
  );

  it('an unknown provider name → 422 validation_error', async () => {
    const res = await createOrder(t, await t.token(uid('u')), {
      ...orderBody([{ product_id: await product(), quantity: 1 }]),
      payment: { provider: 'bitcoin', source: 'x' },
    });
    expectValidation(res, '/payment/provider');
  });

  it('the same product twice → 422 validation_error on the repeated line, nothing taken', async () => {
    const p = await product(100, { stock: 10 });
    const user = uid('u');
    const res = await createOrder(
      t,
      await t.token(user),
      orderBody([
        { product_id: p, quantity: 1 },
        { product_id: p, quantity: 2 },
      ]),
    );
    expectValidation(res, '/items/1/product_id');
    expect(await stockOf(t, p)).toBe(10);
    expect(await orderCount(t, user)).toBe(0);
  });

  it.each([0, -1, 1.5, '2', 1001, null, true])('quantity %j → 422 at /items/0/quantity', async (quantity) => {
    const res = await createOrder(
      t,
      await t.token(uid('u')),
      orderBody([{ product_id: await product(), quantity: quantity as number }]),
    );
    expectValidation(res, '/items/0/quantity');
  });

  it.each([
    ['unit_price as a string', { unit_price: '1999' }, '/items/0/unit_price'],
    ['unit_price as a float', { unit_price: 19.99 }, '/items/0/unit_price'],
    ['negative unit_price', { unit_price: -1 }, '/items/0/unit_price'],
    ['bad product_id', { product_id: 'has space' }, '/items/0/product_id'],
    ['unknown field in an item', { colour: 'red' }, '/items/0/colour'],
  ])('%s → 422 at %s', async (_name, patch, path) => {
    const line = { product_id: await product(), quantity: 1, ...patch } as { product_id: string; quantity: number };
    const res = await createOrder(t, await t.token(uid('u')), orderBody([line]));
    expectValidation(res, path);
  });

  it('quantity 1000 is the inclusive maximum', async () => {
    const res = await createOrder(
      t,
      await t.token(uid('u')),
      orderBody([{ product_id: await product(1), quantity: 1000 }]),
    );
    expect(res.statusCode, res.body).toBe(201);
  });

  it('100 items are accepted; 101 items and 0 items → 422 at /items', async () => {
    const ids = await Promise.all(Array.from({ length: 101 }, () => product(1)));
    const lines = ids.map((product_id) => ({ product_id, quantity: 1 }));
    const hundred = await createOrder(t, await t.token(uid('u')), orderBody(lines.slice(0, 100)));
    expect(hundred.statusCode, hundred.body).toBe(201);
    expect(hundred.json().items).toHaveLength(100);
    expectValidation(await createOrder(t, await t.token(uid('u')), orderBody(lines)), '/items');
    expectValidation(await createOrder(t, await t.token(uid('u')), orderBody([])), '/items');
  });

  it.each([
    ['unknown top-level field', { discount: 100 }, '/discount'],
    [
      'unknown payment field',
      { payment: { provider: 'sandbox', source: 'pm_card_visa', amount: 1 } },
      '/payment/amount',
    ],
    ['lower-case currency', { currency: 'usd' }, '/currency'],
    ['bad email', { email: 'not-an-email' }, '/email'],
    [
      'address without city',
      { shipping_address: { name: 'A', line1: 'B', postal_code: '1', country: 'US' } },
      '/shipping_address',
    ],
    [
      'unknown address field',
      { shipping_address: { name: 'A', line1: 'B', city: 'C', postal_code: '1', country: 'US', planet: 'Mars' } },
      '/shipping_address/planet',
    ],
    ['empty payment source', { payment: { provider: 'sandbox', source: '' } }, '/payment/source'],
  ])('%s → 422 at %s', async (_name, patch, path) => {
    const res = await createOrder(t, await t.token(uid('u')), {
      ...orderBody([{ product_id: await product(), quantity: 1 }]),
      ...patch,
    });
    expectValidation(res, path);
  });

  it('missing items, currency and payment → 422 naming each', async () => {
    const res = await createOrder(t, await t.token(uid('u')), {});
    expectValidation(res, '/items', '/currency', '/payment');
  });

  it('a total beyond the largest chargeable amount → 422, never a 500', async () => {
    const p = await product(Number.MAX_SAFE_INTEGER);
    const res = await createOrder(t, await t.token(uid('u')), orderBody([{ product_id: p, quantity: 2 }]));
    expectValidation(res, '/items/0/quantity');
  });

  it('more than the stock → 409 out_of_stock, nothing taken from any line', async () => {
    const [a, b] = [await product(100, { stock: 5 }), await product(100, { stock: 1 })];
    const user = uid('u');
    const res = await createOrder(
      t,
      await t.token(user),
      orderBody([
        { product_id: a, quantity: 2 },
        { product_id: b, quantity: 2 },
      ]),
    );
    expectProblem(res, 409, 'out_of_stock');
    expect(await stockOf(t, a)).toBe(5);
    expect(await stockOf(t, b)).toBe(1);
    expect(await orderCount(t, user)).toBe(0);
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])(
    '%s → 402 payment_declined with decline_code %s; no order; stock unchanged; failed transaction kept',
    async (source, declineCode) => {
      const p = await product(700, { stock: 3 });
      const user = uid('u');
      const res = await createOrder(t, await t.token(user), orderBody([{ product_id: p, quantity: 2 }], source));
      const body = expectProblem(res, 402, 'payment_declined');
      expect(body.decline_code).toBe(declineCode);
      expect(body.title).toBe('Payment declined');
      expect(await stockOf(t, p)).toBe(3);
      expect(await orderCount(t, user)).toBe(0);
      expect((await getJson(t, await t.token(user), '/api/orders')).json().items).toEqual([]);
      const txs = await t.db
        .selectFrom('payment_transactions')
        .select(['status', 'amount'])
        .where('customer_id', '=', user)
        .execute();
      expect(txs).toEqual([{ status: 'failed', amount: expect.anything() }]);
      expect(Number(txs[0]!.amount)).toBe(1400);
    },
  );

  it('pm_card_providerUnavailable → 502 payment_provider_error; no order; stock unchanged; nothing leaked', async () => {
    const p = await product(700, { stock: 3 });
    const user = uid('u');
    const res = await createOrder(
      t,
      await t.token(user),
      orderBody([{ product_id: p, quantity: 1 }], 'pm_card_providerUnavailable'),
    );
    const body = expectProblem(res, 502, 'payment_provider_error');
    expect(body.detail).not.toMatch(/sandbox:|stack|at .*\.ts/);
    expect(await stockOf(t, p)).toBe(3);
    expect(await orderCount(t, user)).toBe(0);
  });

  it('without a token → 401', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      payload: orderBody([{ product_id: 'x', quantity: 1 }]),
    });
    expectProblem(res, 401, 'invalid_token');
  });
});
