import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';

/**
 * A real crash in the one step that ends a payment the customer completed: the service (a child
 * process) is SIGKILLed after PayPal captured the approved order and before the order was placed.
 * After a restart the reconciler asks PayPal, which says captured (the same request id answers with
 * the capture already made), and places the order: one order, one capture, one `order.created`.
 */
describe('crash between a completed customer payment and the commit (PayPal, on PostgreSQL)', () => {
  const h = useCrashHarness({ emulators: true });

  it('the reconciler places the order after a restart: one capture, placed once', { timeout: 120_000 }, async () => {
    const admin = await h.sign('boss', { roles: ['admin'] });
    const token = await h.sign('erin', { email: 'erin@example.com' });
    await h.start({ ...BEFORE_CRASH, ORDER_API_FAULT: 'crash-after-action' });
    expect(
      (
        await h.call('PUT', '/api/products/sku_wait', admin, {
          name: 'Wait',
          price: 900,
          currency: 'USD',
          active: true,
          stock: 3,
        })
      ).status,
    ).toBe(200);
    const created = await h.call('POST', '/api/orders', token, {
      items: [{ product_id: 'sku_wait', quantity: 2 }],
      currency: 'USD',
      payment: { provider: 'paypal', return_url: 'https://shop.example/back' },
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as {
      id: string;
      status: string;
      payment: { transaction_id: string; provider_reference: string };
    };
    expect(order.status).toBe('awaiting_payment');

    h.emu.paypal.approve(order.payment.provider_reference);
    await h.expectCrash(h.call('POST', `/api/orders/${order.id}/payment/confirm`, token));
    // Captured at PayPal, not placed here.
    expect(h.emu.paypal.capturesFor(order.payment.transaction_id)).toBe(1);
    expect(
      await h.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow(),
    ).toEqual({ status: 'awaiting_payment' });

    await h.start(AFTER_CRASH);
    await h.until(async () => {
      const row = await h.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow();
      return row.status === 'pending' ? row : undefined;
    }, 'the order placed');
    const placed = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as {
      payment: Record<string, unknown>;
    };
    expect(placed.payment).toMatchObject({ status: 'succeeded', amount_captured: 1800, next_action: null });
    expect(h.emu.paypal.capturesFor(order.payment.transaction_id)).toBe(1);
    const created_events = await h.db
      .selectFrom('outbox')
      .select('topic')
      .where('topic', '=', 'order.created')
      .execute();
    expect(created_events).toHaveLength(1);
    expect((await (await h.call('GET', '/api/products/sku_wait', token)).json()) as { stock: number }).toMatchObject({
      stock: 1,
    });
  });
});
