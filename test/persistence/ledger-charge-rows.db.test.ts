import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedgerSums } from '../../src/persistence/ledger.js';
import { reserveOrder } from '../../src/persistence/reservation.js';
import type { Database } from '../../src/persistence/tables.js';
import type { CaptureMode } from '../../src/domain/payment.js';
import type { TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { ledgerTotals as totals } from '../helpers/ledger-totals.js';
import { placedOrder, uid } from '../helpers/http.js';
import { buildTestApp } from '../helpers/app.js';
import { refusal } from '../helpers/ledger-refusal.js';

/**
 * The charge's own rows (its authorization, id = the transaction's, and its capture, id derived from
 * it) run no trigger (migration 014, docs/adr/0023): the database vouches for them with foreign keys
 * to the payment's totals row, and counts them where they are. These are the raw-SQL writes a bug or
 * a person with psql might try, and what the database answers.
 */
const captureId = (transactionId: string) => {
  const h = createHash('md5').update(`${transactionId}:capture`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/**
 * A charge capture row as raw SQL would write it: `declared` when it also says it is one (as the
 * reservation's rows do, and the foreign keys then judge it), undeclared when it passes itself off
 * as another movement (refused outright: migration 015).
 */
const chargeRow = (
  transactionId: string,
  orderId: string,
  o: { amount: number; currency?: string; status?: string; declared?: boolean },
) => ({
  ...(o.declared ? { charge_capture_of: transactionId } : {}),
  id: captureId(transactionId),
  transaction_id: transactionId,
  order_id: orderId,
  kind: 'capture',
  amount: o.amount,
  currency: o.currency ?? 'USD',
  status: o.status ?? 'pending',
  reason: null,
  actor: 'psql',
});

/** A payment reserved as a create reserves it, its charge not settled: both charge rows `pending`. */
async function reserved(db: Kysely<Database>, capture: CaptureMode, total = 1500) {
  const id = randomUUID();
  const orderId = randomUUID();
  const r = await reserveOrder(db, {
    stocked: [],
    key: null,
    transaction: {
      id,
      provider: 'sandbox',
      source: 'pm_card_visa',
      capture,
      reconcileAfterMs: 60_000,
      now: new Date(),
      draft: {
        order_id: orderId,
        user_id: uid('owner'),
        currency: 'USD',
        items: [],
        total,
        email: null,
        shipping_address: null,
        idempotency_key: null,
        capture,
      },
    },
  });
  expect(r).toEqual({ reserved: true });
  return { id, orderId };
}

describe.each(DATABASES)("the charge's own ledger rows on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind, { env: { PAYMENT_CAPTURE: 'shipment' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a reserved charge reads as pending, a settled one as taken: the totals are the ledger sums, no trigger ran', async () => {
    const r = await reserved(t.db, 'immediate');
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 1500, pendingCaptures: 1500, captured: 0 });
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    await t.db.updateTable('payment_ledger').set({ status: 'succeeded' }).where('transaction_id', '=', r.id).execute();
    expect(await totals(t.db, r.id)).toMatchObject({ authorized: 1500, captured: 1500, pendingCaptures: 0 });
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
  });

  it('a charge capture slipped beside an authorization-only charge is refused, in its amount or any other', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    expect(order.payment).toMatchObject({ amount_authorized: 1000, amount_captured: 0 });
    for (const declared of [true, false])
      for (const status of ['pending', 'succeeded'])
        for (const amount of [1000, 1, 5000])
          expect(
            await refusal(
              t.db
                .insertInto('payment_ledger')
                .values(chargeRow(tx, order.id, { amount, status, declared }))
                .execute(),
            ),
          ).toBe('invariant');
    expect(await totals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
    expect((await totals(t.db, tx)).captured).toBe(0);
  });

  it('a charge row in another currency than its payment is refused', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    for (const declared of [true, false])
      expect(
        await refusal(
          t.db
            .insertInto('payment_ledger')
            .values(chargeRow(tx, order.id, { amount: 1000, currency: 'EUR', declared }))
            .execute(),
        ),
      ).toBe('invariant');
  });

  it('a row says it is a charge row exactly when its id makes it one', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    const movement = { ...chargeRow(tx, order.id, { amount: 1000 }), id: randomUUID(), kind: 'refund' };
    // Another movement claiming the charge's place (it would be counted by neither the view nor a trigger).
    for (const claim of [{ charge_capture_of: tx }, { charge_authorization_of: tx }])
      expect(
        await refusal(
          t.db
            .insertInto('payment_ledger')
            .values({ ...movement, ...claim })
            .execute(),
        ),
      ).toBe('invariant');
    expect(await totals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
    expect(await totals(t.db, tx)).toMatchObject({ refunded: 0, pendingRefunds: 0 });
    // The columns cannot be rewritten on a row either.
    await expect(
      sql`update payment_ledger set charge_authorization_of = null where id = ${tx}`.execute(t.db),
    ).rejects.toMatchObject({ code: 'ML001' });
  });

  it('a second charge authorization or capture for a payment cannot exist: its id is taken', async () => {
    const r = await reserved(t.db, 'immediate');
    await expect(
      t.db
        .insertInto('payment_ledger')
        .values({ ...chargeRow(r.id, r.orderId, { amount: 1500, declared: true }) })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      t.db
        .insertInto('payment_ledger')
        .values({
          ...chargeRow(r.id, r.orderId, { amount: 1500 }),
          id: r.id,
          kind: 'authorization',
          charge_authorization_of: r.id,
        })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('a charge authorization failed under its capture is refused; failed together, accepted', async () => {
    const r = await reserved(t.db, 'immediate');
    const fail = (ids: string[]) =>
      t.db.updateTable('payment_ledger').set({ status: 'failed' }).where('id', 'in', ids).execute();
    expect(await refusal(fail([r.id]))).toBe('invariant');
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 1500, pendingCaptures: 1500 });
    expect(await refusal(fail([r.id, captureId(r.id)]))).toBe('accepted');
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 0, pendingCaptures: 0 });
  });

  it("the sums of the later movements are the ledger's alone: a direct write of them, or of the charge's capture amount, is refused", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    const direct = (set: Record<string, number>) =>
      (t.db as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .updateTable('payment_movement_totals')
        .set(set)
        .where('transaction_id', '=', tx)
        .execute();
    expect(await refusal(direct({ captured: 1000 }))).toBe('append_only');
    expect(await refusal(direct({ charge_capture: 1000 }))).toBe('append_only');
    expect(
      await refusal(
        t.db
          .insertInto('payment_ledger')
          .values(chargeRow(tx, order.id, { amount: 1000 }))
          .execute(),
      ),
    ).toBe('invariant');
  });
});
