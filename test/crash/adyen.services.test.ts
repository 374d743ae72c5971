import { describe, expect, it } from 'vitest';
import { AFTER_CRASH, BEFORE_CRASH, useCrashHarness } from '../helpers/crash-harness.js';
import type { ProviderView } from '../helpers/payments.js';

/**
 * The SIGKILL between the provider and the commit for Adyen, which cannot be asked the way the
 * others are: it has no lookup: after the restart, the AUTHORISATION (or REFUND)
 * notification Adyen keeps delivering until it is accepted is what finishes the work. (Mollie's
 * are in mollie.services.test.ts.)
 */
const CARD = { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' };

describe('crash between an adyen charge and the commit', () => {
  const h = useCrashHarness({ emulators: true });
  const notify = async () => {
    const d = h.emu.adyen.delivery();
    if (!d) return;
    const res = await fetch(`${h.server.url}/api/webhooks/adyen`, { method: 'POST', headers: d.headers, body: d.body });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('[accepted]');
  };

  it(
    'the restarted service accepts the AUTHORISATION Adyen delivers again: one order, one charge, the retry replays it',
    { timeout: 120_000 },
    async () => {
      const { retry } = await h.crashAfterCharge('dave', { provider: 'adyen', source: CARD as never });
      const stuck = await h.db.selectFrom('payment_transactions').selectAll().executeTakeFirstOrThrow();
      expect(stuck).toMatchObject({ status: 'processing', provider: 'adyen', provider_reference: null });
      expect(h.emu.adyen.chargesFor(stuck.id)).toBe(1);

      await h.start(AFTER_CRASH);
      await notify();
      const settled = await h.until(async () => {
        const t = await h.db
          .selectFrom('payment_transactions')
          .selectAll()
          .where('id', '=', stuck.id)
          .executeTakeFirstOrThrow();
        return t.status === 'succeeded' ? t : undefined;
      }, 'the charge to settle');
      expect(settled.provider_reference).toBe(h.emu.adyen.paymentOf(stuck.id)!.pspReference);
      expect(await h.db.selectFrom('orders').selectAll().execute()).toHaveLength(1);

      const replayed = await retry();
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(h.emu.adyen.chargesFor(stuck.id)).toBe(1);
      expect(h.emu.adyen.payments.size).toBe(1);
    },
  );

  it(
    'killed while refunding a cancelled order after Adyen took the refund: asked again with the same key, settled by REFUND, one refund',
    { timeout: 120_000 },
    async () => {
      const token = await h.sign('erin');
      const admin = await h.sign('boss', { roles: ['admin'] });
      await h.start(BEFORE_CRASH);
      const order = await h.orderProduct(admin, token, { id: 'sku_refund', name: 'Refund', price: 900, stock: 4 }, 1, {
        provider: 'adyen',
        source: CARD as never,
      });
      const ref = order.payment.provider_reference;
      h.emu.adyen.delivery(); // the AUTHORISATION: already settled by the create
      const view = {
        emulator: h.emu.adyen,
        refundPath: /\/refunds$/,
        refunds: (r: string) => h.emu.adyen.refundsOf(r).map((n) => n.amount.value),
      } as unknown as ProviderView;
      await h.killDuringRefund(view, ref, () => h.call('POST', `/api/orders/${order.id}/cancel`, token, {}));

      await h.start(AFTER_CRASH);
      await h.until(
        () => (h.emu.adyen.requests.some((r) => r.path.endsWith('/refunds')) ? true : undefined),
        'the refund asked again',
      );
      await notify();
      await h.until(async () => {
        const r = await h.db
          .selectFrom('payment_ledger')
          .select('status')
          .where('transaction_id', '=', order.payment.transaction_id)
          .where('kind', '=', 'refund')
          .executeTakeFirstOrThrow();
        return r.status === 'succeeded' ? r : undefined;
      }, 'the refund to settle');
      expect(h.emu.adyen.refundsOf(ref).map((n) => [n.amount.value, n.success])).toEqual([[900, 'true']]);
    },
  );
});
