import { newId } from '../domain/ids.js';
import {
  disputeMoved,
  disputeOpened,
  refundConfirmed,
  refundFailedAtProvider,
  refundMadeAtProvider,
} from '../domain/order-records.js';
import type { OrderRecord } from '../domain/order.js';
import { byProvider, providerActor, refundMoveOnProviderWord } from '../domain/payment.js';
import type { ProviderDispute, ProviderRefund } from '../payments/provider.js';
import {
  hurryPendingMovements,
  movementsOf,
  recordLearnedMovement,
  settleMovement,
  type Movement,
} from '../persistence/ledger.js';
import { findOrder } from '../persistence/order-repository.js';
import { failOvertakenRefunds, reissueOvertakenRefunds } from './refunds-overtaken.js';
import { recordOnOrder } from '../persistence/status-change.js';
import type { Db } from '../persistence/tables.js';
import type { PaymentTransaction } from '../persistence/transaction-repository.js';

/**
 * What a provider says about money moved after the charge — refunds (ours or made at its dashboard)
 * and disputes — written into the ledger inside the caller's transaction (which holds the order's
 * lock). The amounts come from the provider's own answer (`refunds()`, `disputes()`), never from a
 * webhook body. Each provider movement is one row (the unique index on its reference), so the same
 * refund reported again changes nothing, and `payment.refunded` goes out once per refund.
 */
export interface Learned {
  changed: number;
}

export async function learnRefunds(
  trx: Db,
  t: PaymentTransaction,
  refunds: readonly ProviderRefund[],
  now: Date,
): Promise<Learned> {
  let changed = 0;
  const ours = await movementsOf(trx, t.id, 'refund');
  for (const r of refunds) {
    if (r.currency !== t.currency || r.amount <= 0) continue;
    const known = ours.find(
      (m) => m.id === r.refundId || (m.provider_reference !== null && m.provider_reference === r.reference),
    );
    if (known) {
      if (await moveKnown(trx, known, r, now)) changed++;
      continue;
    }
    // Ours, still waiting for its answer, and the provider does not echo our id: the reconciler
    // settles it now, asking with its own id.
    if (ours.some((m) => m.status === 'pending' && m.provider_reference === null && m.amount === r.amount)) {
      await hurryPendingMovements(trx, t.id, 'refund');
      continue;
    }
    if (r.status === 'failed') continue;
    let outcome = await recordDashboardRefund(trx, t, r, now);
    if (outcome === 'refused') {
      const overtaken = await failOvertakenRefunds(trx, t, r.amount, now);
      if (overtaken.length > 0) outcome = await recordDashboardRefund(trx, t, r, now);
      if (outcome === 'recorded') await reissueOvertakenRefunds(trx, t, overtaken, r.reference, now);
    }
    if (outcome === 'recorded') changed++;
  }
  return { changed };
}

/** One of ours (or one already learned) moved at the provider: the domain says where its row goes. */
async function moveKnown(trx: Db, m: Movement, r: ProviderRefund, now: Date): Promise<boolean> {
  const to = refundMoveOnProviderWord({ status: m.status, learned: byProvider(m.actor) }, r.status);
  if (!to) return false;
  if (!(await settleMovement(trx, m.id, 'refund', m.status, to, { providerReference: r.reference }, now))) return false;
  const order = await findOrder(trx, m.order_id);
  if (!order) return true;
  await recordOnOrder(
    trx,
    order.id,
    to === 'succeeded'
      ? refundConfirmed(order, { id: m.id, amount: r.amount, currency: r.currency }, now)
      : refundFailedAtProvider(order, m.provider, r, now),
  );
  return true;
}

async function recordDashboardRefund(
  trx: Db,
  t: PaymentTransaction,
  r: ProviderRefund,
  now: Date,
): Promise<'recorded' | 'known' | 'refused'> {
  const id = newId();
  const outcome = await recordLearnedMovement(trx, {
    id,
    transactionId: t.id,
    orderId: t.order_id,
    kind: 'refund',
    amount: r.amount,
    currency: r.currency,
    actor: providerActor(t.provider),
    reason: 'refunded at the provider',
    status: r.status,
    providerReference: r.reference,
    retryInMs: null,
    now,
  });
  // `known`: reported twice at once (two webhooks), the other recorded it. `refused`: more than was
  // captured beside ours still pending (refunds-overtaken.ts).
  if (outcome !== 'recorded') return outcome;
  const order = await findOrder(trx, t.order_id);
  if (!order) return outcome;
  const made = { id, amount: r.amount, currency: r.currency, reference: r.reference, pending: r.status === 'pending' };
  await recordOnOrder(trx, order.id, refundMadeAtProvider(order, t.provider, made, now));
  return outcome;
}

export async function learnDisputes(
  trx: Db,
  t: PaymentTransaction,
  disputes: readonly ProviderDispute[],
  now: Date,
): Promise<Learned> {
  let changed = 0;
  const known = await movementsOf(trx, t.id, 'dispute');
  const order = await findOrder(trx, t.order_id);
  const note = (record: (o: NonNullable<typeof order>) => OrderRecord) =>
    order ? recordOnOrder(trx, order.id, record(order)) : undefined;
  for (const d of disputes) {
    if (d.currency !== t.currency || d.amount <= 0) continue;
    const row = known.find((m) => m.provider_reference === d.reference);
    if (!row) {
      const outcome = await recordLearnedMovement(trx, {
        id: newId(),
        transactionId: t.id,
        orderId: t.order_id,
        kind: 'dispute',
        amount: d.amount,
        currency: d.currency,
        actor: providerActor(t.provider),
        reason: 'disputed by the customer',
        status: d.status,
        providerReference: d.reference,
        retryInMs: null,
        now,
      });
      if (outcome !== 'recorded') continue;
      await note((o) => disputeOpened(o, t.provider, d, now));
      changed++;
    } else if (row.status === 'open' && d.status !== 'open') {
      if (!(await settleMovement(trx, row.id, 'dispute', 'open', d.status, {}, now))) continue;
      await note((o) => disputeMoved(o, t.provider, d, now));
      changed++;
    }
  }
  return { changed };
}
