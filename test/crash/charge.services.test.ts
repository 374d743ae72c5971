import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, useCrashHarness } from '../helpers/crash-harness.js';

/**
 * The process is killed (SIGKILL) after the provider charged the card and
 * before the order was committed. On restart the reconciler must find the
 * charge and finish the order: exactly one order, and the client's retry with
 * its Idempotency-Key gets that order back.
 */
describe('crash between charge and commit', () => {
  const h = useCrashHarness();

  it('recovers the order after a restart, once', async () => {
    const { token, retry } = await h.crashAfterCharge('carol', { provider: 'sandbox', source: 'pm_card_visa' });

    // Charged, not committed: a processing transaction, stock held, no order.
    const stuck = await h.db.selectFrom('payment_transactions').selectAll().execute();
    expect(stuck).toHaveLength(1);
    expect(stuck[0]?.status).toBe('processing');
    expect(await h.db.selectFrom('orders').selectAll().execute()).toHaveLength(0);

    await h.start(AFTER_CRASH);
    const orders = await h.until(async () => {
      const rows = await h.db.selectFrom('orders').select('id').execute();
      return rows.length > 0 ? rows : undefined;
    }, 'the order');
    expect(orders).toHaveLength(1);
    const t = await h.db.selectFrom('payment_transactions').selectAll().executeTakeFirstOrThrow();
    expect(t.status).toBe('succeeded');

    const replayed = await retry();
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replayed.json()) as { id: string }).id).toBe(orders[0]?.id);

    const product = (await (await h.call('GET', '/api/products/sku_crash', token)).json()) as { stock: number };
    expect(product.stock).toBe(1);
    expect(await h.db.selectFrom('orders').selectAll().execute()).toHaveLength(1);
    expect(await h.db.selectFrom('payment_transactions').selectAll().execute()).toHaveLength(1);
  });
});
