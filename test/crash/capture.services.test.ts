import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';

/**
 * PAYMENT_CAPTURE=shipment, and the process is killed (SIGKILL) after the provider captured or
 * voided and before the ledger said so. On restart the reconciler makes the same movement again
 * (same id, so the provider moves the money once) and finishes what it was for: the order shipped,
 * or the authorization recorded as released.
 */
describe('crash between a capture or void and its commit (sandbox)', () => {
  const h = useCrashHarness({ env: { PAYMENT_CAPTURE: 'shipment' } });
  const movements = (transactionId: string) =>
    h.db
      .selectFrom('payment_ledger')
      .select(['kind', 'status'])
      .where('transaction_id', '=', transactionId)
      .orderBy('seq')
      .execute();

  it('a capture: recovered after a restart, the order shipped once, one capture', async () => {
    const [token, admin] = [
      await h.sign('dora', { email: 'dora@example.com' }),
      await h.sign('boss', { roles: ['admin'] }),
    ];
    await h.start({ ...BEFORE_CRASH, ORDER_API_FAULT: 'crash-after-capture' });
    const order = await h.orderProduct(admin, token, { id: 'sku_cap', name: 'Cap', price: 800, stock: 5 }, 2, {
      provider: 'sandbox',
      source: 'pm_card_visa',
    });
    expect(order.payment.status).toBe('authorized');
    expect((await h.call('POST', `/api/orders/${order.id}/status`, admin, { status: 'processing' })).status).toBe(200);

    await h.expectCrash(h.call('POST', `/api/orders/${order.id}/status`, admin, { status: 'shipped', note: 'crash' }));
    // Captured at the provider, not in the ledger: the capture pending, the order still processing.
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'capture', status: 'pending' },
    ]);
    expect(
      await h.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow(),
    ).toEqual({ status: 'processing' });

    await h.start(AFTER_CRASH);
    await h.until(async () => {
      const o = await h.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow();
      return o.status === 'shipped' ? o : undefined;
    }, 'the order to ship');
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'capture', status: 'succeeded' },
    ]);
    const got = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as {
      payment: Record<string, unknown>;
    };
    expect(got.payment).toMatchObject({ status: 'succeeded', amount_captured: 1600 });
    const history = (await (await h.call('GET', `/api/orders/${order.id}/history`, token)).json()) as {
      items: { status: string; note: string | null }[];
    };
    expect(history.items.filter((hi) => hi.status === 'shipped')).toEqual([expect.objectContaining({ note: 'crash' })]);
    const captured = await h.db.selectFrom('outbox').select('id').where('topic', '=', 'payment.captured').execute();
    expect(captured).toHaveLength(1);
  });

  it('a void: recovered after a restart, the payment voided once', async () => {
    const token = await h.sign('erin', { email: 'erin@example.com' });
    // start kills the process the capture test left running.
    await h.start({ ...BEFORE_CRASH, ORDER_API_FAULT: 'crash-after-capture' });
    const created = await h.call('POST', '/api/orders', token, {
      items: [{ product_id: 'sku_cap', quantity: 1 }],
      currency: 'USD',
      payment: { provider: 'sandbox', source: 'pm_card_visa' },
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string; payment: { transaction_id: string } };
    await h.expectCrash(h.call('POST', `/api/orders/${order.id}/cancel`, token, {}));
    expect(await movements(order.payment.transaction_id)).toEqual([
      { kind: 'authorization', status: 'succeeded' },
      { kind: 'void', status: 'pending' },
    ]);

    await h.start(AFTER_CRASH);
    await h.until(async () => {
      const rows = await movements(order.payment.transaction_id);
      return rows.at(-1)?.status === 'succeeded' ? rows : undefined;
    }, 'the void to settle');
    const got = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as {
      status: string;
      payment: Record<string, unknown>;
    };
    expect(got).toMatchObject({ status: 'cancelled', payment: { status: 'voided', amount_captured: 0 } });
    expect(await h.db.selectFrom('outbox').select('id').where('topic', '=', 'payment.voided').execute()).toHaveLength(
      1,
    );
  });
});
