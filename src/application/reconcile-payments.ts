import { errors } from '../domain/errors.js';
import { chargeCaptureFor } from '../payments/provider.js';
import { warnExpiringAuthorizations } from '../persistence/authorization-expiry.js';
import { claimDueMovements, scheduleMovementRetry, type Movement } from '../persistence/ledger.js';
import { claimUnsettled, scheduleRetry, type PaymentTransaction } from '../persistence/transaction-repository.js';
import type { Deps } from './deps.js';
import { reconcilerRetryDelay } from './reconciler-retry.js';
import { releasePayment } from './release-payment.js';
import { capturePayment } from './capture-payment.js';
import { abandonCharge, completeCharge, defaultExpiry, failCharge } from './settle-charge.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

/**
 * The deadlines are the deployment's (`deps.reconciler`, RECONCILE_*). Defaults: a pass holds what it
 * claimed for 5 minutes; a charge the provider has never heard of after 10 minutes was never made;
 * Adyen notifies a payment's outcome within seconds and delivers again what our endpoint missed, so an
 * hour covers an outage of ours, and past it a charge it never told about is cancelled there; looks
 * at one charge or movement back off from 5 s to at most 10 minutes (reconciler-retry.ts).
 */

/**
 * Settles everything whose outcome is open: charges left `processing` by a crash or an outage, and
 * the ledger's pending movements after the charge (refunds, captures, voids) — each retried with
 * its own id, so the provider moves the money once. Money taken always ends as an order or is given
 * back. Then it warns orders whose authorization is about to lapse. Returns how many it looked at.
 */
export async function reconcilePayments(deps: Deps, batchSize = 20): Promise<number> {
  const charges = await deps.db.transaction().execute((trx) => claimUnsettled(trx, batchSize, deps.reconciler.leaseMs));
  for (const t of charges) {
    try {
      await settleCharge(deps, t);
    } catch (err) {
      deps.logger.error({ err, transactionId: t.id }, 'reconciliation failed; will retry');
      await scheduleRetry(
        deps.db,
        t.id,
        reconcilerRetryDelay(deps, t.attempts),
        err instanceof Error ? err.message : String(err),
      );
    }
  }
  const movements = await deps.db
    .transaction()
    .execute((trx) => claimDueMovements(trx, batchSize, deps.reconciler.leaseMs));
  for (const m of movements) {
    try {
      await settleMovement(deps, m);
    } catch (err) {
      deps.logger.error(
        { err, movementId: m.id, transactionId: m.transaction_id },
        'reconciliation failed; will retry',
      );
      await scheduleMovementRetry(
        deps.db,
        m.id,
        reconcilerRetryDelay(deps, m.attempts),
        err instanceof Error ? err.message : String(err),
      );
    }
  }
  const warned = await warnExpiringAuthorizations(deps.db, deps.authorizationWarnHours * 3_600_000, batchSize);
  return charges.length + movements.length + warned;
}

async function settleMovement(deps: Deps, m: Movement): Promise<void> {
  if (m.kind === 'capture') {
    const r = await capturePayment(deps, m);
    deps.logger.info({ movementId: m.id, outcome: r.status }, 'reconciled a capture');
    return;
  }
  await releasePayment(deps, m);
}

async function settleCharge(deps: Deps, t: PaymentTransaction): Promise<void> {
  if (t.action_expires_at !== null) return settleAwaiting(deps, t);
  const provider = deps.payments.get(t.provider);
  const found = await provider.retrieve({
    transactionId: t.id,
    reference: t.provider_reference,
    source: t.source,
    amount: t.amount,
    currency: t.currency,
    capture: chargeCaptureFor(t.draft.capture),
  });
  switch (found.status) {
    case 'succeeded':
    case 'authorized': {
      const expiresAt =
        found.status === 'authorized' ? (found.authorizationExpiresAt ?? defaultExpiry(new Date(t.created_at))) : null;
      const done = await completeCharge(deps, t.id, { reference: found.reference, authorizationExpiresAt: expiresAt });
      if (done.kind === 'release' && done.movement) await releasePayment(deps, done.movement);
      deps.logger.info({ transactionId: t.id, outcome: done.kind }, 'reconciled a charge');
      return;
    }
    case 'voided':
      // Released before we settled it (or expired): nothing was taken.
      await failCharge(
        deps,
        t.id,
        errors.paymentDeclined(
          'The authorization was released before the order was made.',
          found.expired ? 'authorization_expired' : 'authorization_voided',
        ),
      );
      return;
    case 'failed':
      await failCharge(deps, t.id, errors.paymentDeclined('The payment was declined.', found.declineCode));
      return;
    case 'not_found':
      // Never charged, or not yet. The reconciler does not make the charge itself: the client was
      // told nothing (a 503, a cut connection) and may have given up or ordered again under another
      // key, so only a retry with the same key, which asks again, takes the charge over and makes
      // it (place-order.ts). Past the grace, nothing moved and the key is freed for a fresh order.
      if (deps.clock().getTime() - Date.parse(t.created_at) > deps.reconciler.notFoundGraceMs) {
        await failCharge(deps, t.id, errors.providerError('The payment never reached the provider.'), t.attempts);
        return;
      }
      break;
    case 'processing':
      await stopUnanswered(deps, t);
      break;
  }
  await scheduleRetry(deps.db, t.id, reconcilerRetryDelay(deps, t.attempts), `provider reports ${found.status}`);
}

/**
 * A provider that cannot be asked (Adyen) tells a charge's outcome only by notification. One that
 * has not come `unansweredChargeMs` after the charge was made (a payment Adyen left `Pending`, a
 * crash before its answer, notifications lost) is not waited for forever: the charge is stopped at
 * the provider by our reference and given up here (its stock and key freed, as for any charge whose
 * outcome the client was not told), and the notification of that cancel ends it — failed if
 * cancelled, else completed and its money given back (adyen-notification.ts). Sent again at each
 * look until then, under the same key. (A waiting payment whose order ended is stopped by the settle
 * step's `cancelAction`, asked again on each pass.)
 */
async function stopUnanswered(deps: Deps, t: PaymentTransaction): Promise<void> {
  const provider = deps.payments.get(t.provider);
  if (!provider.cancelUnanswered) return;
  if (deps.clock().getTime() - Date.parse(t.created_at) < deps.reconciler.unansweredChargeMs) return;
  if (!t.abandoned) await abandonCharge(deps, t.id, 'no outcome from the provider; cancelled there by our reference');
  try {
    await provider.cancelUnanswered({
      transactionId: t.id,
      reference: t.provider_reference ?? '',
      amount: t.amount,
      currency: t.currency,
      capture: chargeCaptureFor(t.draft.capture),
      redirectResult: null,
    });
    deps.logger.warn({ transactionId: t.id }, 'no outcome from the provider in time; asked it to cancel the charge');
  } catch (err) {
    deps.logger.warn({ err, transactionId: t.id }, 'could not ask the provider to cancel an unanswered charge');
  }
}

/**
 * A charge that waited for its customer goes through the one step every road takes. While its order
 * still waits, the next look is no later than its expiry, so an expired order ends at most one
 * reconciler interval late; an ended order's open charge is asked with the usual backoff.
 */
async function settleAwaiting(deps: Deps, t: PaymentTransaction): Promise<void> {
  const r = await settleAwaitingPayment(deps, t.order_id, { kind: 'reconciler' });
  if (!r.open) return;
  const backoff = reconcilerRetryDelay(deps, t.attempts);
  const untilExpiry = Date.parse(t.action_expires_at!) - deps.clock().getTime();
  const delay = r.order?.status === 'awaiting_payment' ? Math.max(0, Math.min(backoff, untilExpiry)) : backoff;
  await scheduleRetry(deps.db, t.id, delay, 'the customer has not completed the payment yet');
}
