import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrder } from '../../src/application/cancel-order.js';
import { placeOrder } from '../../src/application/place-order.js';
import type { Actor } from '../../src/application/deps.js';
import type { Order } from '../../src/domain/order.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import type { TestApp } from '../helpers/app.js';
import { FAST, providerView, reconcileNow, transaction } from '../helpers/payments.js';
import { customer, messagesFor, ordersOf, product, refusal, stockOf } from './support.js';
import { buildTestApp } from '../helpers/app.js';

/**
 * cancelOrder and the reconciler called directly, on PGlite, Stripe's real SDK against its
 * emulator: the refund made at once, a refund the provider cannot make yet, and the refusals.
 */
describe('cancelOrder and the reconciler, without HTTP', () => {
  let emu: Emulators;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startEmulators();
    t = await buildTestApp('pglite', { emulators: emu, sdk: FAST });
  });
  afterEach(() => {
    emu.stripe.resetFaults();
    emu.stripe.refundStatus = 'succeeded';
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  async function paidOrder(buyer: Actor, price = 1500, quantity = 2): Promise<{ sku: string; order: Order }> {
    const sku = await product(t.app.deps, price, 5);
    const result = await placeOrder(
      t.app.deps,
      buyer,
      {
        items: [{ product_id: sku, quantity }],
        currency: 'USD',
        payment: { provider: 'stripe', source: 'pm_card_visa' },
      },
      null,
    );
    if (result.kind !== 'created') throw new Error('expected an order');
    return { sku, order: result.order };
  }

  it('the owner cancels: cancelled and refunded in full once, stock returned, order_cancelled, order.cancelled and payment.refunded in the outbox once each', async () => {
    const buyer = customer();
    const { sku, order } = await paidOrder(buyer);
    expect(await stockOf(t, sku)).toBe(3);
    const { order: cancelled } = await cancelOrder(t.app.deps, buyer, order.id, 'changed my mind');
    expect(cancelled).toMatchObject({ id: order.id, status: 'cancelled', payment: { status: 'refunded' } });
    expect(await stockOf(t, sku)).toBe(5);
    const tx = await transaction(t, order.payment.transaction_id);
    expect(tx).toMatchObject({ status: 'refunded', amount_refunded: 3000 });
    expect(emu.stripe.refundsFor(tx.provider_reference!).map((r) => r.amount)).toEqual([3000]);
    const messages = await messagesFor(t, order.id);
    expect(messages).toEqual(expect.arrayContaining(['order.cancelled', 'order_cancelled', 'payment.refunded']));
    expect(new Set(messages).size).toBe(messages.length); // each once

    // A second cancel is refused and moves no money.
    expect((await refusal(cancelOrder(t.app.deps, buyer, order.id, null))).code).toBe('order_not_cancellable');
    expect(emu.stripe.refundsFor(tx.provider_reference!)).toHaveLength(1);
    expect(await stockOf(t, sku)).toBe(5);
  });

  it("someone else's order is forbidden and left alone; an id that is no order is order_not_found", async () => {
    const buyer = customer();
    const { sku, order } = await paidOrder(buyer);
    expect((await refusal(cancelOrder(t.app.deps, customer(), order.id, null))).code).toBe('forbidden');
    expect((await refusal(cancelOrder(t.app.deps, buyer, '00000000-0000-4000-8000-000000000000', null))).code).toBe(
      'order_not_found',
    );
    expect((await ordersOf(t, buyer.sub))[0]!.status).toBe('pending');
    expect(await stockOf(t, sku)).toBe(3);
    expect(emu.stripe.refundsFor((await transaction(t, order.payment.transaction_id)).provider_reference!)).toEqual([]);
  });

  it('the refund endpoint fails: cancelled with refund_pending; the reconciler makes the refund, once', async () => {
    const buyer = customer();
    const { sku, order } = await paidOrder(buyer, 1000, 1);
    const p = providerView(emu, 'stripe');
    p.emulator.failNext(10, 500, p.refundPath);
    const { order: cancelled } = await cancelOrder(t.app.deps, buyer, order.id, null);
    expect(cancelled).toMatchObject({ status: 'cancelled', payment: { status: 'refund_pending' } });
    expect(await stockOf(t, sku)).toBe(5);
    const reference = (await transaction(t, order.payment.transaction_id)).provider_reference!;
    expect(p.refunds(reference)).toEqual([]);

    p.emulator.resetFaults();
    await reconcileNow(t, order.payment.transaction_id);
    expect(await transaction(t, order.payment.transaction_id)).toMatchObject({
      status: 'refunded',
      amount_refunded: 1000,
    });
    expect(p.refunds(reference)).toEqual([1000]);
    await reconcileNow(t, order.payment.transaction_id);
    expect(p.refunds(reference)).toEqual([1000]);
  });
});
