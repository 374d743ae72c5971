import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { buildTestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, getJson, placedOrder, uid } from '../helpers/http.js';
import { refusal } from '../helpers/ledger-refusal.js';

/**
 * The charge's rows settle in place (migration 016, docs/adr/0031): they keep no provider reference
 * of their own — the payment's is theirs, and every read of the ledger says so — and a movement that
 * has settled is out of the reconciler's queue by its `next_attempt_at`, not its status.
 */

describe.each(DATABASES)('the charge settled in place on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  const ledgerRows = (transactionId: string) =>
    t.db
      .selectFrom('payment_ledger')
      .select(['kind', 'status', 'provider_reference', sql<boolean>`next_attempt_at = 'infinity'`.as('never_due')])
      .where('transaction_id', '=', transactionId)
      .orderBy('seq')
      .execute();

  it("the charge's rows hold no reference; the order's payments show the payment's on both", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1250 });
    const reference = order.payment.provider_reference as string;
    expect(reference).toMatch(/^sb_/);
    expect(await ledgerRows(order.payment.transaction_id)).toEqual([
      expect.objectContaining({ kind: 'authorization', status: 'succeeded', provider_reference: null }),
      expect.objectContaining({ kind: 'capture', status: 'succeeded', provider_reference: null }),
    ]);
    const res = await getJson(t, await t.adminToken(), `/api/orders/${order.id}/payments`);
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([
      expect.objectContaining({
        kind: 'authorization',
        status: 'succeeded',
        amount: 1250,
        provider_reference: reference,
      }),
      expect.objectContaining({ kind: 'capture', status: 'succeeded', amount: 1250, provider_reference: reference }),
    ]);
  });

  it("a reference written onto a charge row is refused: the payment's is the one", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 700 });
    for (const kind of ['authorization', 'capture'] as const) {
      const write = t.db
        .updateTable('payment_ledger')
        .set({ provider_reference: `elsewhere_${kind}` })
        .where('transaction_id', '=', order.payment.transaction_id)
        .where('kind', '=', kind)
        .execute();
      expect(await refusal(write)).toBe('append_only');
    }
  });

  it('a refund that settles leaves the queue: its next attempt is never, whoever moved it', async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 900 });
    const res = await t.app.inject({ method: 'POST', url: `/api/orders/${order.id}/cancel`, headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    const refund = (await ledgerRows(order.payment.transaction_id)).find((r) => r.kind === 'refund');
    expect(refund).toMatchObject({ status: 'succeeded', never_due: true });
  });
});
