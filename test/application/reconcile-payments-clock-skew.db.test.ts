import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';

/**
 * An instance whose clock disagrees with the database must not make a charge that is still in
 * flight look due to the reconciler (which compares with the database's now()): every schedule
 * is counted from the database's clock. Here the instance runs ten minutes behind, and the
 * request "crashes" right after the charge, leaving its transaction `processing`.
 */
describe.each(DATABASES)('clock skew on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind, {
      env: { RECONCILE_AFTER_MS: '60000', WORKERS_ENABLED: 'false' },
      app: {
        clock: () => new Date(Date.now() - 10 * 60_000),
        faults: {
          afterCharge: () => {
            throw new Error('crash after the charge');
          },
        },
      },
      allowInternalErrors: true, // the crash after the charge answers 500
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a charge left processing is due RECONCILE_AFTER_MS after the database clock, whatever the instance clock says', async () => {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 500 });
    const user = uid('u');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: `Bearer ${await t.token(user)}` },
      payload: orderBody([{ product_id: sku, quantity: 1 }]),
    });
    expect(res.statusCode).toBe(500);
    const { rows } = await sql<{ status: string; due_in_ms: number }>`
      select status, (extract(epoch from next_attempt_at - now()) * 1000)::int as due_in_ms
      from payment_transactions where customer_id = ${user}`.execute(t.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('processing');
    expect(Math.abs(rows[0]!.due_in_ms - 60_000)).toBeLessThan(10_000);
  });
});
