import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { createOrder, uid } from '../helpers/http.js';
import { ageTransaction, reconcileNow } from '../helpers/payments.js';

/**
 * The reconciler's deadlines are the deployment's (RECONCILE_NOT_FOUND_GRACE_MS,
 * RECONCILE_UNANSWERED_CHARGE_MS, RECONCILE_RETRY_MAX_MS), not constants: the soak runs with short
 * ones so that its drain outlives them, and its audit judges "stuck" by the same values.
 */
describe.each(DATABASES)('the reconciler deadlines from the environment on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, {
    emulators: 'start',
    resetAfterEach: true,
    env: {
      RECONCILE_NOT_FOUND_GRACE_MS: '60000',
      RECONCILE_UNANSWERED_CHARGE_MS: '120000',
      RECONCILE_RETRY_MAX_MS: '5000',
    },
  });

  const charge = (id: string) =>
    t.db.selectFrom('payment_transactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  async function chargeOf(provider: 'stripe' | 'adyen', source: unknown, currency: string) {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 2500, stock: 5, currency });
    const buyer = uid('buyer');
    const res = await createOrder(t, await t.token(buyer), {
      items: [{ product_id: sku, quantity: 1 }],
      currency,
      payment: { provider, source },
    });
    expect(res.statusCode, res.body).toBe(502);
    const { id } = await t.db
      .selectFrom('payment_transactions')
      .select('id')
      .where('customer_id', '=', buyer)
      .executeTakeFirstOrThrow();
    expect((await charge(id)).status).toBe('processing');
    return id;
  }

  it('a charge Stripe never heard of fails once RECONCILE_NOT_FOUND_GRACE_MS (1 min) has passed, not 10 minutes', async () => {
    emu.stripe.failNext(10, 500, /^POST \/v1\/payment_intents$/);
    const id = await chargeOf('stripe', 'pm_card_visa', 'USD');
    await reconcileNow(t, id); // seconds old: within the grace
    expect((await charge(id)).status).toBe('processing');
    await ageTransaction(t, id, 2);
    await reconcileNow(t, id);
    expect(await charge(id)).toMatchObject({ status: 'failed' });
  });

  it('an Adyen charge never answered is cancelled there once RECONCILE_UNANSWERED_CHARGE_MS (2 min) has passed, not an hour', async () => {
    const id = await chargeOf('adyen', { type: 'scheme', encryptedCardNumber: 'test_pending' }, 'EUR');
    const cancels = () => emu.adyen.requests.filter((r) => r.path === '/v72/cancels');
    await ageTransaction(t, id, 1);
    await reconcileNow(t, id);
    expect(cancels()).toEqual([]);
    await ageTransaction(t, id, 3);
    await reconcileNow(t, id);
    expect(cancels().map((c) => JSON.parse(c.body) as unknown)).toEqual([
      expect.objectContaining({ paymentReference: id }),
    ]);
  });

  it('the next look at an open charge is at most RECONCILE_RETRY_MAX_MS (5 s) away, whatever its attempts', async () => {
    emu.stripe.failNext(10, 500, /^POST \/v1\/payment_intents$/);
    const id = await chargeOf('stripe', 'pm_card_visa', 'USD');
    await t.db.updateTable('payment_transactions').set({ attempts: 20 }).where('id', '=', id).execute();
    await reconcileNow(t, id);
    const { rows } = await sql<{ due_in_ms: number }>`
      select (extract(epoch from next_attempt_at - now()) * 1000)::int as due_in_ms
      from payment_transactions where id = ${id}`.execute(t.db);
    expect(rows[0]!.due_in_ms).toBeGreaterThan(3_000);
    expect(rows[0]!.due_in_ms).toBeLessThanOrEqual(5_000);
  });
});
