import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';
import { providerView, REAL_PROVIDERS } from '../helpers/payments.js';

/**
 * A real crash with a real provider: the service runs as a child process,
 * talking through the provider's SDK to its emulator (in this process). It is
 * SIGKILLed after the provider charged the card and before the order was
 * committed. After a restart the reconciler must find the charge at the
 * provider (the service never learnt its id) and finish the order: exactly one
 * order, exactly one charge, no refund, and the client's retry with its
 * Idempotency-Key gets that order back.
 */
describe.each(REAL_PROVIDERS)('crash between a %s charge and the commit', (id) => {
  const h = useCrashHarness({ emulators: true });

  it(
    'recovers the order after a restart: one order, one charge, and the retry replays it',
    { timeout: 120_000 },
    async () => {
      const p = providerView(h.emu, id);
      const { token, retry } = await h.crashAfterCharge('dave', { provider: id, source: p.source(1400) });

      // Charged at the provider, not committed here: a processing transaction without the provider's id, no order.
      const stuck = await h.db.selectFrom('payment_transactions').selectAll().execute();
      expect(stuck).toHaveLength(1);
      const txId = stuck[0]!.id;
      expect(stuck[0]).toMatchObject({ status: 'processing', provider: id, provider_reference: null });
      expect(await h.db.selectFrom('orders').selectAll().execute()).toHaveLength(0);
      expect(p.charges(txId)).toBe(1);

      await h.start(AFTER_CRASH);
      const orders = await h.until(async () => {
        const rows = await h.db.selectFrom('orders').select('id').execute();
        return rows.length > 0 ? rows : undefined;
      }, 'the order');
      expect(orders, h.server.output()).toHaveLength(1);
      const settled = await h.db
        .selectFrom('payment_transactions')
        .selectAll()
        .where('id', '=', txId)
        .executeTakeFirstOrThrow();
      expect(settled.status).toBe('succeeded');
      expect(settled.provider_reference).toEqual(expect.any(String));
      expect(p.charges(txId)).toBe(1);
      expect(p.refunds(settled.provider_reference!)).toEqual([]);

      const replayed = await retry();
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      const order = (await replayed.json()) as {
        id: string;
        total: number;
        payment: { provider: string; provider_reference: string; status: string };
      };
      expect(order).toMatchObject({
        id: orders[0]!.id,
        total: 1400,
        payment: { provider: id, provider_reference: settled.provider_reference, status: 'succeeded' },
      });

      const got = await h.call('GET', `/api/orders/${order.id}`, token);
      expect(((await got.json()) as { payment: unknown }).payment).toEqual(order.payment);
      const product = (await (await h.call('GET', '/api/products/sku_crash', token)).json()) as { stock: number };
      expect(product.stock).toBe(1);
      expect(await h.db.selectFrom('orders').selectAll().execute()).toHaveLength(1);
      expect(await h.db.selectFrom('payment_transactions').selectAll().execute()).toHaveLength(1);
      // Nothing else moved at the provider: one charge in all, still one after the retry.
      expect(p.charges(txId)).toBe(1);
      const allCharges = {
        stripe: () => [...h.emu.stripe.intents.values()].filter((x) => x.status === 'succeeded').length,
        square: () => [...h.emu.square.payments.values()].filter((x) => x.status === 'COMPLETED').length,
        paypal: () => h.emu.paypal.captures.size,
      }[id];
      expect(allCharges()).toBe(1);
    },
  );

  it(
    'killed while refunding a cancelled order, after the provider made the refund: the restart finishes it with no second refund',
    { timeout: 120_000 },
    async () => {
      const p = providerView(h.emu, id);
      const token = await h.sign('erin', { email: 'erin@example.com' });
      const admin = await h.sign('boss', { roles: ['admin'] });
      await h.start(BEFORE_CRASH);
      const order = await h.orderProduct(admin, token, { id: 'sku_refund', name: 'Refund', price: 900, stock: 4 }, 1, {
        provider: id,
        source: p.source(900),
      });
      const ref = order.payment.provider_reference;

      await h.killDuringRefund(p, ref, () => h.call('POST', `/api/orders/${order.id}/cancel`, token, {}));
      const refund = () =>
        h.db
          .selectFrom('payment_ledger')
          .select('status')
          .where('transaction_id', '=', order.payment.transaction_id)
          .where('kind', '=', 'refund')
          .executeTakeFirstOrThrow();
      expect(await refund()).toEqual({ status: 'pending' });
      expect(
        await h.db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow(),
      ).toEqual({ status: 'cancelled' });

      await h.start(AFTER_CRASH);
      await h.until(async () => {
        const r = await refund();
        return r.status === 'succeeded' ? r : undefined;
      }, 'the refund to settle');
      expect(p.refunds(ref)).toEqual([900]);
      const got = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as {
        status: string;
        payment: { status: string };
      };
      expect(got).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });
      const product = (await (await h.call('GET', '/api/products/sku_refund', token)).json()) as { stock: number };
      expect(product.stock).toBe(4);
    },
  );
});
