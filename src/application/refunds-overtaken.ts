import { newId } from '../domain/ids.js';
import { movementsOf, readLedgerSums, recordMovement, settleMovement, type Movement } from '../persistence/ledger.js';
import { refundOvertaken } from '../domain/order-records.js';
import { byProvider } from '../domain/payment.js';
import { findOrder } from '../persistence/order-repository.js';
import { recordOnOrder } from '../persistence/status-change.js';
import type { Db } from '../persistence/tables.js';
import type { PaymentTransaction } from '../persistence/transaction-repository.js';

/**
 * A refund made at the provider (its dashboard) that the ledger cannot fit: refunds of ours still
 * pending already claim what it took — typically a cancel's refund of everything, decided before the
 * dashboard refund was known. The provider's refund happened; each of ours that can no longer fit at
 * the provider beside what it has confirmed (its confirmed refunds and this one, plus ours, exceed
 * what was captured) will be refused there whatever we do. Those are marked failed, so the provider's
 * refund can be recorded; `reissue` then records, for each, a refund of what is still left — the
 * customer still gets back what our refund promised, less what the dashboard already gave.
 * Ours that could still fit are left alone: a refund of ours may be at the provider already.
 */
export async function failOvertakenRefunds(
  trx: Db,
  t: PaymentTransaction,
  providerAmount: number,
  now: Date,
): Promise<Movement[]> {
  const refunds = await movementsOf(trx, t.id, 'refund');
  const { captured } = await readLedgerSums(trx, t.id);
  const confirmed =
    providerAmount +
    refunds.filter((m) => m.status !== 'failed' && m.provider_reference !== null).reduce((s, m) => s + m.amount, 0);
  const doomed = refunds.filter(
    (m) =>
      m.status === 'pending' &&
      m.provider_reference === null &&
      !byProvider(m.actor) &&
      confirmed + m.amount > captured,
  );
  const failed: Movement[] = [];
  for (const m of doomed) if (await settleMovement(trx, m.id, 'refund', 'pending', 'failed', {}, now)) failed.push(m);
  return failed;
}

/** After the provider's refund is recorded: each failed refund of ours again, for what is left to refund. */
export async function reissueOvertakenRefunds(
  trx: Db,
  t: PaymentTransaction,
  failed: Movement[],
  providerReference: string,
  now: Date,
): Promise<void> {
  const sums = await readLedgerSums(trx, t.id);
  let room = sums.captured - sums.refunded - sums.pendingRefunds;
  const order = await findOrder(trx, t.order_id);
  for (const m of failed) {
    const amount = Math.min(m.amount, room);
    if (amount > 0) {
      await recordMovement(trx, {
        id: newId(),
        transactionId: t.id,
        orderId: t.order_id,
        kind: 'refund',
        amount,
        currency: m.currency,
        actor: m.actor,
        reason: m.reason,
        retryInMs: 0,
        now,
      });
      room -= amount;
    }
    if (order) await recordOnOrder(trx, order.id, refundOvertaken(order, m, amount, providerReference, now));
  }
}
