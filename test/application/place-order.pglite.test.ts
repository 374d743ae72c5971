import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, type PlaceOrderInput } from '../../src/application/place-order.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import type { TestApp } from '../helpers/app.js';
import { uid } from '../helpers/http.js';
import { ageTransaction, FAST, providerView, reconcileNow, transaction, transactionsOf } from '../helpers/payments.js';
import { customer, messagesFor, ordersOf, product, refusal, stockOf } from './support.js';
import { buildTestApp } from '../helpers/app.js';

/**
 * placeOrder and the payment reconciler called directly, on PGlite, with Stripe and PayPal's real
 * SDKs talking to the emulators: each branch of a charge — paid, declined, the amount the buyer
 * approved differing, the outcome lost in a timeout, one approval used twice, a replayed key.
 */
describe('placeOrder and the reconciler, without HTTP', () => {
  let emu: Emulators;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startEmulators();
    t = await buildTestApp('pglite', { emulators: emu, sdk: FAST });
  });
  afterEach(() => {
    for (const e of [emu.stripe, emu.square, emu.paypal]) e.resetFaults();
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  const input = (productId: string, provider: 'stripe' | 'paypal', source: string, quantity = 1): PlaceOrderInput => ({
    items: [{ product_id: productId, quantity }],
    currency: 'USD',
    payment: { provider, source },
  });

  it('paid: one order, its items, stock taken, one charge, the confirmation and order.created in the outbox', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 1250, 5);
    const result = await placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa', 2), null);
    expect(result.kind).toBe('created');
    const order = result.kind === 'created' ? result.order : undefined;
    expect(order).toMatchObject({
      user_id: buyer.sub,
      status: 'pending',
      total: 2500,
      payment: { status: 'succeeded', amount: 2500 },
    });
    expect(await ordersOf(t, buyer.sub)).toHaveLength(1);
    expect(await stockOf(t, sku)).toBe(3);
    expect(emu.stripe.chargesFor(order!.payment.transaction_id)).toBe(1);
    expect(await messagesFor(t, order!.id)).toEqual(expect.arrayContaining(['order.created', 'order_confirmation']));
  });

  it('declined: payment_declined with the provider code; no order, stock back, the failed transaction kept, nothing charged', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 900, 5);
    const err = await refusal(
      placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_chargeDeclinedInsufficientFunds'), null),
    );
    expect(err.code).toBe('payment_declined');
    expect(err.extra.decline_code).toBe('insufficient_funds');
    expect(await ordersOf(t, buyer.sub)).toEqual([]);
    expect(await stockOf(t, sku)).toBe(5);
    const [tx] = await transactionsOf(t, buyer.sub);
    expect(tx).toMatchObject({ status: 'failed', decline_code: 'insufficient_funds', amount: 900 });
    expect(emu.stripe.chargesFor(tx!.id)).toBe(0);
  });

  it('amount mismatch: a PayPal approval for another amount is payment_amount_mismatch; nothing captured, no order, stock back', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 1999, 2);
    const approval = emu.paypal.approvedOrder(1998, 'USD');
    const err = await refusal(placeOrder(t.app.deps, buyer, input(sku, 'paypal', approval), null));
    expect(err.code).toBe('payment_amount_mismatch');
    expect(emu.paypal.orders.get(approval)?.status).toBe('APPROVED');
    expect([...emu.paypal.captures.values()].filter((c) => c.orderId === approval)).toEqual([]);
    expect(await ordersOf(t, buyer.sub)).toEqual([]);
    expect(await stockOf(t, sku)).toBe(2);
    expect((await transactionsOf(t, buyer.sub)).map((x) => [x.status, x.decline_code])).toEqual([
      ['failed', 'payment_amount_mismatch'],
    ]);
  });

  it('unknown outcome, nothing taken: the provider never answers → payment_provider_error; after the grace period the reconciler records the failure, refunds nothing', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 700, 5);
    const p = providerView(emu, 'stripe');
    p.emulator.hangNext(p.attemptsOnTimeout, p.chargePath);
    const err = await refusal(placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa'), null));
    expect(err.code).toBe('payment_provider_error');
    expect(await ordersOf(t, buyer.sub)).toEqual([]);
    expect(await stockOf(t, sku)).toBe(5);
    const [tx] = await transactionsOf(t, buyer.sub);
    // The provider has not heard of it: still open while it might yet show up, failed after the grace period.
    await reconcileNow(t, tx!.id);
    expect((await transaction(t, tx!.id)).status).toBe('processing');
    await ageTransaction(t, tx!.id, 11);
    await reconcileNow(t, tx!.id);
    expect(await transaction(t, tx!.id)).toMatchObject({ status: 'failed', amount_refunded: 0 });
    expect(p.charges(tx!.id)).toBe(0);
    expect(await ordersOf(t, buyer.sub)).toEqual([]);
  });

  it('unknown outcome, money taken: the answer is lost → payment_provider_error; the reconciler refunds the charge once, and no order appears', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 1300, 5);
    const p = providerView(emu, 'stripe');
    p.emulator.hangAfterNext(p.attemptsOnTimeout, p.chargePath);
    const err = await refusal(placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa'), null));
    expect(err.code).toBe('payment_provider_error');
    const [tx] = await transactionsOf(t, buyer.sub);
    expect(p.charges(tx!.id)).toBe(1);

    await reconcileNow(t, tx!.id);
    const settled = await transaction(t, tx!.id);
    expect(settled).toMatchObject({ status: 'refunded', amount_refunded: 1300 });
    expect(p.refunds(settled.provider_reference!)).toEqual([1300]);
    await reconcileNow(t, tx!.id);
    expect(p.refunds(settled.provider_reference!)).toEqual([1300]);
    expect(await ordersOf(t, buyer.sub)).toEqual([]);
    expect(await stockOf(t, sku)).toBe(5);
  });

  it('duplicate payment: one PayPal approval for two orders — the second is declined, captured once, one order', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 500, 5);
    const approval = emu.paypal.approvedOrder(500, 'USD');
    expect((await placeOrder(t.app.deps, buyer, input(sku, 'paypal', approval), null)).kind).toBe('created');
    const err = await refusal(placeOrder(t.app.deps, buyer, input(sku, 'paypal', approval), null));
    expect(err.code).toBe('payment_declined');
    expect(['order_already_captured', 'duplicate_payment']).toContain(err.extra.decline_code);
    expect([...emu.paypal.captures.values()].filter((c) => c.orderId === approval)).toHaveLength(1);
    expect(await ordersOf(t, buyer.sub)).toHaveLength(1);
    expect(await stockOf(t, sku)).toBe(4);
  });

  it('duplicate payment found by the reconciler: a lost capture attempt and a retry of the same approval → one order; the lost one fails as duplicate_payment, nothing refunded', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 1900, 5);
    const p = providerView(emu, 'paypal');
    const approval = p.source(1900);
    p.emulator.hangNext(p.attemptsOnTimeout, p.chargePath);
    expect((await refusal(placeOrder(t.app.deps, buyer, input(sku, 'paypal', approval), null))).code).toBe(
      'payment_provider_error',
    );
    const retry = await placeOrder(t.app.deps, buyer, input(sku, 'paypal', approval), null);
    expect(retry.kind).toBe('created');
    const order = retry.kind === 'created' ? retry.order : undefined;

    // PayPal finds a charge by its approval: the capture the reconciler finds is the retry's own.
    const [lost] = await transactionsOf(t, buyer.sub);
    await reconcileNow(t, lost!.id);
    expect(await transaction(t, lost!.id)).toMatchObject({ status: 'failed', decline_code: 'duplicate_payment' });
    expect([...emu.paypal.captures.values()].filter((c) => c.orderId === approval)).toHaveLength(1);
    expect(p.refunds(order!.payment.provider_reference!)).toEqual([]);
    expect((await ordersOf(t, buyer.sub)).map((o) => o.id)).toEqual([order!.id]);
    expect(await stockOf(t, sku)).toBe(4);
  });

  it('replay: the same Idempotency-Key and input return the first order, charge nothing more; other input under that key is refused', async () => {
    const buyer = customer();
    const sku = await product(t.app.deps, 800, 5);
    const key = uid('key');
    const first = await placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa'), key);
    const again = await placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa'), key);
    expect(first.kind).toBe('created');
    expect(again.kind).toBe('replayed');
    const order = first.kind === 'created' ? first.order : undefined;
    expect(again.kind === 'replayed' && again.response).toMatchObject({ status: 201, body: { id: order!.id } });
    expect(emu.stripe.chargesFor(order!.payment.transaction_id)).toBe(1);
    expect(await transactionsOf(t, buyer.sub)).toHaveLength(1);
    expect(await ordersOf(t, buyer.sub)).toHaveLength(1);
    expect(await stockOf(t, sku)).toBe(4);

    const other = await refusal(placeOrder(t.app.deps, buyer, input(sku, 'stripe', 'pm_card_visa', 2), key));
    expect(other.code).toBe('idempotency_key_reused');
    expect(await ordersOf(t, buyer.sub)).toHaveLength(1);
    expect(await stockOf(t, sku)).toBe(4);
  });
});
