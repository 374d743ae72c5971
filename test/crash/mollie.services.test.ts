import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';
import type { ProviderView } from '../helpers/payments.js';

/**
 * The SIGKILL between Mollie and the commit, at each place Mollie moves (or may come to move) money:
 *  - after Mollie created the payment and before the waiting order was written (the client never got
 *    the checkout link): the restarted reconciler finds the payment by our metadata and, once Mollie
 *    says it expired unpaid, fails the charge; no order, nothing taken, the stock back;
 *  - after Mollie said `paid` and before the order was placed: the restarted reconciler asks Mollie and
 *    places it; one order, one `order.created`, one payment at Mollie;
 *  - after Mollie took a refund and before the ledger said so: asked again, Mollie's refund tagged with
 *    our refund id is found rather than made twice; one refund, settled.
 */
const RETURN_URL = 'https://shop.example/back';

describe('crash between mollie and the commit (on PostgreSQL)', () => {
  const h = useCrashHarness({ emulators: true });
  const webhook = (id: string) =>
    fetch(`${h.server.url}/api/webhooks/mollie`, { method: 'POST', ...h.emu.mollie.webhook(id) });
  const orderRow = (id: string) => h.db.selectFrom('orders').select('status').where('id', '=', id).executeTakeFirst();
  const paymentsFor = (transactionId: string) =>
    [...h.emu.mollie.payments.values()].filter(
      (p) => (p.metadata as { transaction_id?: string }).transaction_id === transactionId,
    ).length;
  const stockOf = async (id: string) =>
    (await h.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;

  it(
    'killed after Mollie created the payment, before the order was written: no order, nothing taken, stock back once Mollie expires it',
    { timeout: 120_000 },
    async () => {
      const { token } = await h.crashAfterCharge('mia', { provider: 'mollie', return_url: RETURN_URL } as never);
      const stuck = await h.db.selectFrom('payment_transactions').selectAll().executeTakeFirstOrThrow();
      expect(stuck).toMatchObject({ status: 'processing', provider: 'mollie', provider_reference: null });
      const atMollie = h.emu.mollie.paymentOf(stuck.id)!;
      expect(atMollie.status).toBe('open');
      expect(await stockOf('sku_crash')).toBe(1);

      // The customer never saw the checkout link: Mollie expires the payment.
      h.emu.mollie.customerPays(atMollie.id, 'expired');
      await h.start(AFTER_CRASH);
      const failed = await h.until(async () => {
        const t = await h.db
          .selectFrom('payment_transactions')
          .selectAll()
          .where('id', '=', stuck.id)
          .executeTakeFirstOrThrow();
        return t.status === 'failed' ? t : undefined;
      }, 'the charge to fail');
      expect(failed.decline_code).toBe('expired');
      expect(await h.db.selectFrom('orders').selectAll().execute()).toEqual([]);
      expect(await stockOf('sku_crash')).toBe(3);
      expect(h.emu.mollie.chargesFor(stuck.id)).toBe(0);
      expect(paymentsFor(stuck.id)).toBe(1);
      const list = await h.call('GET', '/api/orders', token);
      expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    },
  );

  it(
    'killed after Mollie said paid, before the order was placed: the reconciler places it once',
    { timeout: 120_000 },
    async () => {
      const admin = await h.sign('boss', { roles: ['admin'] });
      const token = await h.sign('nora', { email: 'nora@example.com' });
      await h.start({ ...BEFORE_CRASH, ORDER_API_FAULT: 'crash-after-action' });
      expect(
        (
          await h.call('PUT', '/api/products/sku_paid', admin, {
            name: 'Paid',
            price: 1250,
            currency: 'EUR',
            active: true,
            stock: 5,
          })
        ).status,
      ).toBe(200);
      const created = await h.call('POST', '/api/orders', token, {
        items: [{ product_id: 'sku_paid', quantity: 2 }],
        currency: 'EUR',
        payment: { provider: 'mollie', source: 'ideal', return_url: RETURN_URL },
      });
      expect(created.status).toBe(201);
      const order = (await created.json()) as {
        id: string;
        status: string;
        payment: { transaction_id: string; provider_reference: string };
      };
      expect(order.status).toBe('awaiting_payment');

      h.emu.mollie.customerPays(order.payment.provider_reference, 'paid');
      await h.expectCrash(webhook(order.payment.provider_reference));
      expect(await orderRow(order.id)).toEqual({ status: 'awaiting_payment' });

      await h.start(AFTER_CRASH);
      await h.until(
        async () => ((await orderRow(order.id))?.status === 'pending' ? true : undefined),
        'the order placed',
      );
      // Mollie calls its webhook again: nothing more happens.
      expect((await webhook(order.payment.provider_reference)).status).toBe(200);
      const placed = (await (await h.call('GET', `/api/orders/${order.id}`, token)).json()) as {
        payment: Record<string, unknown>;
      };
      expect(placed.payment).toMatchObject({ status: 'succeeded', amount_captured: 2500, next_action: null });
      expect(paymentsFor(order.payment.transaction_id)).toBe(1);
      expect(h.emu.mollie.chargesFor(order.payment.transaction_id)).toBe(1);
      const events = await h.db.selectFrom('outbox').select('topic').where('topic', '=', 'order.created').execute();
      expect(events).toHaveLength(1);
      expect(await stockOf('sku_paid')).toBe(3);
    },
  );

  it(
    'killed while refunding a cancelled order after Mollie took the refund: found again, one refund, settled',
    { timeout: 120_000 },
    async () => {
      const admin = await h.sign('boss', { roles: ['admin'] });
      const token = await h.sign('olga');
      await h.start(BEFORE_CRASH);
      const order = await h.orderProduct(admin, token, { id: 'sku_refund', name: 'Refund', price: 900, stock: 4 }, 1, {
        provider: 'mollie',
        return_url: RETURN_URL,
      } as never);
      const ref = order.payment.provider_reference;
      h.emu.mollie.customerPays(ref, 'paid');
      expect((await webhook(ref)).status).toBe(200);
      expect(await orderRow(order.id)).toEqual({ status: 'pending' });

      const view = {
        emulator: h.emu.mollie,
        refundPath: /^POST \/v2\/payments\/[^/]+\/refunds$/,
        refunds: (r: string) => h.emu.mollie.refundsOf(r).map((x) => x.amount.value),
      } as unknown as ProviderView;
      await h.killDuringRefund(view, ref, () => h.call('POST', `/api/orders/${order.id}/cancel`, token, {}));
      const pending = await h.db
        .selectFrom('payment_ledger')
        .select(['status', 'provider_reference'])
        .where('transaction_id', '=', order.payment.transaction_id)
        .where('kind', '=', 'refund')
        .executeTakeFirstOrThrow();
      expect(pending).toEqual({ status: 'pending', provider_reference: null });

      await h.start(AFTER_CRASH);
      const settled = await h.until(async () => {
        const r = await h.db
          .selectFrom('payment_ledger')
          .select(['status', 'provider_reference'])
          .where('transaction_id', '=', order.payment.transaction_id)
          .where('kind', '=', 'refund')
          .executeTakeFirstOrThrow();
        return r.status === 'succeeded' ? r : undefined;
      }, 'the refund to settle');
      const refunds = h.emu.mollie.refundsOf(ref);
      expect(refunds.map((r) => [r.amount.value, r.status])).toEqual([['9.00', 'refunded']]);
      expect(settled.provider_reference).toBe(refunds[0]!.id);
      expect(await orderRow(order.id)).toEqual({ status: 'cancelled' });
    },
  );
});
