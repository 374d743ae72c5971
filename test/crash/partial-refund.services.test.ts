import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';
import { providerView, REAL_PROVIDERS } from '../helpers/payments.js';

/**
 * A real crash during a partial refund: the service runs as a child process, talking through the
 * provider's SDK to its emulator, and is SIGKILLed after the provider made the refund of a partial
 * cancel and before the answer was committed. The restart's reconciler retries the same ledger row
 * (its id is the provider's idempotency key): exactly one refund of exactly those units, and the
 * units cancelled and restocked once.
 */
describe.each(REAL_PROVIDERS)('crash between a %s partial refund and its commit', (id) => {
  const h = useCrashHarness({ emulators: true });

  it(
    'the restart finishes the same refund: one refund of the cancelled units, nothing twice',
    { timeout: 120_000 },
    async () => {
      const p = providerView(h.emu, id);
      const token = await h.sign('frank', { email: 'frank@example.com' });
      const admin = await h.sign('boss', { roles: ['admin'] });
      await h.start(BEFORE_CRASH);
      const order = await h.orderProduct(admin, token, { id: 'sku_part', name: 'Part', price: 600, stock: 5 }, 3, {
        provider: id,
        source: p.source(1800),
      });
      const ref = order.payment.provider_reference;

      await h.killDuringRefund(p, ref, () =>
        h.call('POST', `/api/orders/${order.id}/cancel`, token, { items: [{ product_id: 'sku_part', quantity: 2 }] }),
      );
      const refunds = () =>
        h.db
          .selectFrom('payment_ledger')
          .select(['status', 'amount'])
          .where('transaction_id', '=', order.payment.transaction_id)
          .where('kind', '=', 'refund')
          .execute();
      expect((await refunds()).map((r) => [r.status, Number(r.amount)])).toEqual([['pending', 1200]]);

      await h.start(AFTER_CRASH);
      await h.until(
        async () => ((await refunds()).every((r) => r.status === 'succeeded') ? true : undefined),
        'the refund to settle',
      );
      expect(p.refunds(ref)).toEqual([1200]);
      expect((await refunds()).map((r) => [r.status, Number(r.amount)])).toEqual([['succeeded', 1200]]);
      const got = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as Record<string, unknown>;
      expect(got).toMatchObject({
        status: 'pending',
        current_total: 600,
        items: [{ quantity: 3, quantity_cancelled: 2 }],
        payment: { status: 'partially_refunded', amount_refunded: 1200 },
      });
      const product = (await (await h.call('GET', '/api/products/sku_part', token)).json()) as { stock: number };
      expect(product.stock).toBe(4);
    },
  );
});
