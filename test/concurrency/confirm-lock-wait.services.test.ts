import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { bearer, uid } from '../helpers/http.js';

/**
 * Found by the soak: a customer's return (`POST …/payment/confirm`) queues on the order's row lock
 * while another road settles that order and waits on the provider. When the wait outlasts the
 * statement timeout, PostgreSQL cancels the statement (57014): the answer must be the contract's
 * retryable 503, never a 500.
 */
describe('a confirm that waits out the statement timeout on the order lock, on postgres', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('postgres', { env: { DATABASE_STATEMENT_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 service_unavailable, and the order still waits', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, stock: 5 });
    const token = await t.token(uid('buyer'));
    const body = orderBody([{ product_id: productId, quantity: 1 }], 'pm_card_threeDSecureRequired', {});
    const payload = { ...body, payment: { ...body.payment, return_url: 'https://shop.example/return' } };
    const created = await t.app.inject({ method: 'POST', url: '/api/orders', headers: bearer(token), payload });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;

    const res = await t.db.transaction().execute(async (trx) => {
      // Another road holds the order, as the settle step does across its provider call.
      await sql`select 1 from orders where id = ${id} for update`.execute(trx);
      return t.app.inject({ method: 'POST', url: `/api/orders/${id}/payment/confirm`, headers: bearer(token) });
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toMatchObject({ code: 'service_unavailable', status: 503 });

    const after = await t.app.inject({ method: 'GET', url: `/api/orders/${id}`, headers: bearer(token) });
    expect(after.json().status).toBe('awaiting_payment');
  });
});
