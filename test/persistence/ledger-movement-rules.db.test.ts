import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedgerSums } from '../../src/persistence/ledger.js';
import type { TestApp } from '../helpers/app.js';
import { buildTestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { placedOrder, uid } from '../helpers/http.js';
import { ledgerTotals } from '../helpers/ledger-totals.js';
import { refusal } from '../helpers/ledger-refusal.js';

/**
 * A movement's own rules — an amount above zero, a status its kind can have — were a CHECK; since
 * migration 018 its insert trigger says them (docs/adr/0033), and a status move is held to them by the
 * append-only trigger. Raw SQL, as a bug or a person with psql would write it.
 */
describe.each(DATABASES)("a movement's own rules on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  const row = (transactionId: string, orderId: string, o: { kind: string; amount: number; status: string }) => ({
    id: randomUUID(),
    transaction_id: transactionId,
    order_id: orderId,
    currency: 'USD',
    reason: null,
    actor: 'psql',
    ...o,
  });

  it('refuses a movement of nothing, of less than nothing, or with a status its kind cannot have, and writes nothing', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id as string;
    const insert = (o: { kind: string; amount: number; status: string }) =>
      refusal(
        t.db
          .insertInto('payment_movements')
          .values(row(tx, order.id, o))
          .execute(),
      );
    expect(await insert({ kind: 'refund', amount: 0, status: 'pending' })).toBe('invariant');
    expect(await insert({ kind: 'refund', amount: -100, status: 'pending' })).toBe('invariant');
    expect(await insert({ kind: 'refund', amount: 100, status: 'open' })).toBe('invariant');
    expect(await insert({ kind: 'dispute', amount: 100, status: 'pending' })).toBe('invariant');
    expect(await insert({ kind: 'chargeback', amount: 100, status: 'pending' })).toBe('invariant');
    const written = await t.db.selectFrom('payment_movements').select('id').where('transaction_id', '=', tx).execute();
    expect(written).toEqual([]);
    // A movement that keeps them is the movement it always was.
    expect(await insert({ kind: 'refund', amount: 100, status: 'pending' })).toBe('accepted');
    expect(await insert({ kind: 'dispute', amount: 100, status: 'open' })).toBe('accepted');
    expect(await ledgerTotals(t.db, tx)).toMatchObject({ captured: 1000, pendingRefunds: 100 });
  });

  it('moves a status only where its kind may go, and the sums with it', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id as string;
    const refund = row(tx, order.id, { kind: 'refund', amount: 400, status: 'pending' });
    const dispute = row(tx, order.id, { kind: 'dispute', amount: 1000, status: 'open' });
    await t.db.insertInto('payment_movements').values([refund, dispute]).execute();
    const move = (id: string, status: string) =>
      refusal(t.db.updateTable('payment_movements').set({ status }).where('id', '=', id).execute());
    expect(await move(refund.id, 'won')).toBe('append_only');
    expect(await move(dispute.id, 'succeeded')).toBe('append_only');
    expect(await move(refund.id, 'succeeded')).toBe('accepted');
    expect(await move(refund.id, 'pending')).toBe('append_only');
    expect(await move(dispute.id, 'lost')).toBe('accepted');
    expect(await ledgerTotals(t.db, tx)).toMatchObject({ refunded: 400, pendingRefunds: 0 });
    expect(await ledgerTotals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
    // A refund the provider reported succeeded can still fail (Stripe: refund.failed): out of the sums.
    expect(await move(refund.id, 'failed')).toBe('accepted');
    expect(await ledgerTotals(t.db, tx)).toMatchObject({ refunded: 0, pendingRefunds: 0 });
    expect(await ledgerTotals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
  });
});
