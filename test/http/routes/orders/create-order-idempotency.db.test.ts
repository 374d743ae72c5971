import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { createOrder, expectProblem, expectValidation, orderCount, stockOf, uid } from '../../../helpers/http.js';

describe.each(DATABASES)('Idempotency-Key on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function product(stock: number | null = 10) {
    const id = uid('sku');
    await putProduct(t, id, { price: 1250, stock });
    return id;
  }
  const charges = async (user: string) =>
    Number(
      (
        await t.db
          .selectFrom('payment_transactions')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('customer_id', '=', user)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('the same key and body returns the first response again, marked replayed, and charges once', async () => {
    const p = await product(10);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    const body = orderBody([{ product_id: p, quantity: 2 }]);
    const first = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    for (const url of ['/api/orders/create', '/api/orders']) {
      const again = await createOrder(t, token, body, { 'idempotency-key': key }, url);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers.location).toBe(first.headers.location);
      expect(again.json()).toEqual(first.json());
    }
    expect(await orderCount(t, user)).toBe(1);
    expect(await charges(user)).toBe(1);
    expect(await stockOf(t, p)).toBe(8);
  });

  it('a replay gets the stored 201 even after the product was deactivated, repriced or sold out since', async () => {
    const p = await product(2);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    const body = orderBody([{ product_id: p, quantity: 2 }]);
    const first = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(201);
    expect(await stockOf(t, p)).toBe(0);
    const sold = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(sold.statusCode).toBe(201);
    expect(sold.headers['idempotent-replayed']).toBe('true');
    expect(sold.json()).toEqual(first.json());
    await putProduct(t, p, { price: 9999, stock: 0, active: false });
    const gone = await createOrder(t, token, body, { 'idempotency-key': key });
    expect(gone.statusCode).toBe(201);
    expect(gone.json()).toEqual(first.json());
    // Without the key the same body is a new request, and the catalog's answer stands.
    expectProblem(await createOrder(t, token, body), 422, 'unknown_product');
    expect(await charges(user)).toBe(1);
  });

  it('the body is compared by meaning: key order and whitespace do not matter', async () => {
    const p = await product(null);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    const a = JSON.stringify({
      items: [{ product_id: p, quantity: 1 }],
      currency: 'USD',
      payment: { provider: 'sandbox', source: 'pm_card_visa' },
    });
    const b = `{ "payment": {"source":"pm_card_visa","provider":"sandbox"},\n "currency":"USD", "items":[{"quantity":1,"product_id":"${p}"}] }`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key };
    const first = await t.app.inject({ method: 'POST', url: '/api/orders', headers, payload: a });
    const second = await t.app.inject({ method: 'POST', url: '/api/orders', headers, payload: b });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json().id).toBe(first.json().id);
    expect(await orderCount(t, user)).toBe(1);
  });

  it('the same key with a different body → 422 idempotency_key_reused, nothing charged', async () => {
    const p = await product(10);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    expect(
      (await createOrder(t, token, orderBody([{ product_id: p, quantity: 1 }]), { 'idempotency-key': key })).statusCode,
    ).toBe(201);
    const res = await createOrder(t, token, orderBody([{ product_id: p, quantity: 3 }]), { 'idempotency-key': key });
    expectProblem(res, 422, 'idempotency_key_reused');
    expect(await orderCount(t, user)).toBe(1);
    expect(await charges(user)).toBe(1);
    expect(await stockOf(t, p)).toBe(9);
  });

  it('keys belong to a user: the same key from two users makes two orders', async () => {
    const p = await product(null);
    const key = uid('shared');
    const [u1, u2] = [uid('u1'), uid('u2')];
    const r1 = await createOrder(t, await t.token(u1), orderBody([{ product_id: p, quantity: 1 }]), {
      'idempotency-key': key,
    });
    const r2 = await createOrder(t, await t.token(u2), orderBody([{ product_id: p, quantity: 1 }]), {
      'idempotency-key': key,
    });
    expect([r1.statusCode, r2.statusCode]).toEqual([201, 201]);
    expect(r2.headers['idempotent-replayed']).toBeUndefined();
    expect(r1.json().id).not.toBe(r2.json().id);
    expect(r2.json().user_id).toBe(u2);
    // and a different body from the second user is not a "reuse" of the first user's key
    const r3 = await createOrder(t, await t.token(uid('u3')), orderBody([{ product_id: p, quantity: 5 }]), {
      'idempotency-key': key,
    });
    expect(r3.statusCode).toBe(201);
  });

  it('a declined payment is the final answer: the replay is the same 402, no second charge', async () => {
    const p = await product(3);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    const body = orderBody([{ product_id: p, quantity: 1 }], 'pm_card_chargeDeclinedInsufficientFunds');
    const first = await createOrder(t, token, body, { 'idempotency-key': key });
    expectProblem(first, 402, 'payment_declined');
    const again = await createOrder(t, token, body, { 'idempotency-key': key });
    const replayed = expectProblem(again, 402, 'payment_declined');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(replayed.decline_code).toBe('insufficient_funds');
    expect(await charges(user)).toBe(1);
    expect(await stockOf(t, p)).toBe(3);
    expect(await orderCount(t, user)).toBe(0);
  });

  it('after a provider outage (502) the key is free: a retry with a good card makes the order', async () => {
    const p = await product(3);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    expectProblem(
      await createOrder(t, token, orderBody([{ product_id: p, quantity: 1 }], 'pm_card_providerUnavailable'), {
        'idempotency-key': key,
      }),
      502,
      'payment_provider_error',
    );
    const retry = await createOrder(
      t,
      token,
      orderBody([{ product_id: p, quantity: 1 }], 'pm_card_providerUnavailable'),
      { 'idempotency-key': key },
    );
    expectProblem(retry, 502, 'payment_provider_error');
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await stockOf(t, p)).toBe(3);
  });

  it('a request refused before any charge (validation, 409) does not burn the key', async () => {
    const p = await product(10);
    const user = uid('u');
    const token = await t.token(user);
    const key = uid('key');
    expectProblem(
      await createOrder(t, token, orderBody([{ product_id: p, quantity: 1, unit_price: 1 }]), {
        'idempotency-key': key,
      }),
      409,
      'price_changed',
    );
    const fixed = await createOrder(t, token, orderBody([{ product_id: p, quantity: 1, unit_price: 1250 }]), {
      'idempotency-key': key,
    });
    expect(fixed.statusCode, fixed.body).toBe(201);
  });

  it.each([
    ['longer than 255', 'k'.repeat(256)],
    ['a tab', 'abc\tdef'],
    ['non-ASCII', 'clé-1'],
  ])('a key with %s → 422 validation_error, no order', async (_what, key) => {
    const user = uid('u');
    const res = await createOrder(t, await t.token(user), orderBody([{ product_id: await product(), quantity: 1 }]), {
      'idempotency-key': key,
    });
    expectValidation(res);
    expect(JSON.stringify(res.json().errors)).toMatch(/idempotency-key/i);
    expect(await orderCount(t, user)).toBe(0);
  });

  it('a key of exactly 255 printable characters is accepted', async () => {
    const key = ('K~ !' + uid('k')).padEnd(255, 'x');
    const res = await createOrder(
      t,
      await t.token(uid('u')),
      orderBody([{ product_id: await product(), quantity: 1 }]),
      { 'idempotency-key': key },
    );
    expect(res.statusCode, res.body).toBe(201);
  });

  it('without a key, each request is a new order', async () => {
    const p = await product(null);
    const user = uid('u');
    const token = await t.token(user);
    const body = orderBody([{ product_id: p, quantity: 1 }]);
    const [a, b] = [await createOrder(t, token, body), await createOrder(t, token, body)];
    expect(a.json().id).not.toBe(b.json().id);
    expect(await orderCount(t, user)).toBe(2);
  });
});
