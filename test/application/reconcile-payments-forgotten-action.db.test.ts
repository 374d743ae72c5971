import { describe, expect, it } from 'vitest';
import { buildTestAppPerDescribe, putProduct } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, stockOf, uid } from '../helpers/http.js';
import { ageTransaction, FAST, paymentBody, reconcileNow } from '../helpers/payments.js';

/**
 * Found by the 10-minute soak (seed 1, the reconciler fault): a 3-D Secure payment whose create
 * answer was lost. Stripe made the intent and it waits for its customer (`requires_action`), but the
 * request never learnt so — no order, no action deadline, no customer sent to authenticate — and the
 * reconciler, told `processing`, asked again for ever: the charge `processing`, its stock and key
 * held. Past PAYMENT_ACTION_TIMEOUT_SECONDS the reconciler now cancels the intent and fails the charge.
 */
describe.each(DATABASES)('a payment waiting for a customer nobody told to act, on %s', (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', sdk: FAST, resetAfterEach: true });

  it('Stripe requires_action, its answer lost: cancelled at Stripe once the action timeout passed, the charge failed, the stock back', async () => {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 2500, stock: 4 });
    const buyer = uid('buyer');
    const body = paymentBody('stripe', 'pm_card_threeDSecureRequired', [{ product_id: productId, quantity: 1 }]);
    emu.stripe.hangAfterNext(2, /^POST \/v1\/payment_intents$/);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: bearer(await t.token(buyer)),
      payload: { ...body, payment: { ...body.payment, return_url: 'https://shop.example/return' } },
    });
    expect(res.statusCode, res.body).toBe(502);
    const charge = () =>
      t.db.selectFrom('payment_transactions').selectAll().where('customer_id', '=', buyer).executeTakeFirstOrThrow();
    const { id, action_expires_at } = await charge();
    expect(action_expires_at).toBeNull();
    const intent = () => [...emu.stripe.intents.values()].find((pi) => pi.metadata.transaction_id === id)!;
    expect(intent().status).toBe('requires_action');

    await reconcileNow(t, id); // within the action timeout: a request might still hand the customer the action
    expect((await charge()).status).toBe('processing');
    expect(intent().status).toBe('requires_action');

    await ageTransaction(t, id, 31); // PAYMENT_ACTION_TIMEOUT_SECONDS is 30 minutes by default
    await reconcileNow(t, id);
    expect(await charge()).toMatchObject({ status: 'failed', decline_code: 'payment_cancelled' });
    expect(intent().status).toBe('canceled');
    expect(await stockOf(t, productId)).toBe(4);
  });
});
