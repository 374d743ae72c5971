import { errors } from '../domain/errors.js';
import type { ProviderDispute, ProviderRefund, RetrieveResult } from '../payments/provider.js';
import { PaymentDeclinedError } from '../payments/provider.js';
import { declineCodeOf } from '../payments/adyen-errors.js';
import type { AdyenNotification } from '../payments/webhooks/adyen.js';
import { findMovement, type Movement } from '../persistence/ledger.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { recordOnOrder } from '../persistence/status-change.js';
import {
  findTransaction,
  findTransactionByReference,
  lockTransaction,
  type PaymentTransaction,
} from '../persistence/transaction-repository.js';
import type { Db } from '../persistence/tables.js';
import { isWebhookEventRecorded, recordWebhookEvent } from '../persistence/webhook-events.js';
import { declineCapture, finishCapture } from './capture-payment.js';
import type { Deps } from './deps.js';
import { learnDisputes, learnRefunds } from './provider-money.js';
import { releasePayment } from './release-payment.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';
import { completeCharge, defaultExpiry, failCharge } from './settle-charge.js';
import { failVoid, settleVoid } from './void-payment.js';
import { captureFailedAfterConfirmation } from '../domain/order-records.js';

export type NotificationOutcome = 'applied' | 'duplicate' | 'ignored';

const DISPUTES: Record<string, ProviderDispute['status']> = {
  NOTIFICATION_OF_CHARGEBACK: 'open',
  CHARGEBACK: 'open',
  CHARGEBACK_REVERSED: 'won',
  PREARBITRATION_WON: 'won',
  SECOND_CHARGEBACK: 'lost',
  PREARBITRATION_LOST: 'lost',
};

/**
 * One Adyen notification item, verified. Adyen has no API to look a payment, a refund or a
 * chargeback up, so unlike the other providers' webhooks (hints, after which we ask), the signed
 * item is the provider's word and is acted on as it says: AUTHORISATION settles the charge
 * (`merchantReference` is our transaction id); CAPTURE, CANCELLATION and REFUND settle the ledger
 * row they were asked for (`merchantReference` is its id, sent as the modification's reference);
 * a REFUND with any other reference was made in Adyen's Customer Area; chargebacks are disputes.
 *
 * Deduplicated by pspReference + eventCode: each step below only moves what is still open, so an
 * item that arrives again after a crash, before it was recorded, changes nothing either.
 */
export async function handleAdyenNotification(deps: Deps, n: AdyenNotification): Promise<NotificationOutcome> {
  const eventId = `${n.eventCode}:${n.pspReference}`;
  if (await isWebhookEventRecorded(deps.db, 'adyen', eventId)) return 'duplicate';
  const outcome = await apply(deps, n);
  const recorded = await recordWebhookEvent(deps.db, 'adyen', eventId, n.eventCode);
  return recorded ? outcome : 'duplicate';
}

async function apply(deps: Deps, n: AdyenNotification): Promise<NotificationOutcome> {
  if (n.eventCode === 'AUTHORISATION') return authorisation(deps, n);
  if (n.eventCode === 'TECHNICAL_CANCEL') return technicalCancel(deps, n);
  const own = await ownMovement(deps, n);
  if (n.eventCode === 'CAPTURE' && own?.kind === 'capture') return capture(deps, own, n);
  if (n.eventCode === 'CANCELLATION' && own?.kind === 'void') return cancellation(deps, own, n);
  const t = n.originalReference ? await findTransactionByReference(deps.db, 'adyen', n.originalReference) : undefined;
  if (!t) return 'ignored';
  if (n.eventCode === 'REFUND' || n.eventCode === 'REFUND_FAILED' || n.eventCode === 'REFUNDED_REVERSED') {
    const refund: ProviderRefund = {
      reference: n.pspReference,
      amount: n.amount.value,
      currency: n.amount.currency,
      status: n.eventCode === 'REFUND' && n.success ? 'succeeded' : 'failed',
      refundId: own?.kind === 'refund' ? own.id : null,
    };
    return underLock(deps, t, async (trx, now) => void (await learnRefunds(trx, t, [refund], now)));
  }
  const dispute = DISPUTES[n.eventCode];
  if (dispute) {
    const d: ProviderDispute = {
      reference: n.pspReference,
      amount: n.amount.value,
      currency: n.amount.currency,
      status: dispute,
    };
    return underLock(deps, t, async (trx, now) => void (await learnDisputes(trx, t, [d], now)));
  }
  if (n.eventCode === 'CAPTURE_FAILED') {
    return underLock(deps, t, async (trx, now) => {
      const order = await findOrder(trx, t.order_id);
      if (order)
        await recordOnOrder(
          trx,
          order.id,
          captureFailedAfterConfirmation(order, 'adyen', n.pspReference, n.reason, now),
        );
      deps.logger.warn(
        { orderId: t.order_id, pspReference: n.pspReference },
        'adyen capture failed after confirmation; needs attention',
      );
    });
  }
  return 'ignored';
}

/** The ledger row a modification was asked for: Adyen echoes our reference as `merchantReference`. */
async function ownMovement(deps: Deps, n: AdyenNotification): Promise<Movement | undefined> {
  if (!UUID.test(n.merchantReference)) return undefined;
  const m = await findMovement(deps.db, n.merchantReference);
  return m?.provider === 'adyen' ? m : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function authorisation(deps: Deps, n: AdyenNotification): Promise<NotificationOutcome> {
  const t = await findTransaction(deps.db, n.merchantReference);
  if (!t || t.provider !== 'adyen') return 'ignored';
  if (t.status !== 'processing') return 'ignored';
  const manual = t.draft.capture === 'shipment';
  if (t.action_expires_at !== null) {
    // An order waiting for its customer: the one settle step decides, told what Adyen said.
    const known: RetrieveResult = !n.success
      ? { status: 'failed', declineCode: declineCodeOf(n.reason, 'refused') }
      : manual
        ? { status: 'authorized', reference: n.pspReference, authorizationExpiresAt: null }
        : { status: 'succeeded', reference: n.pspReference };
    await settleAwaitingPayment(deps, t.order_id, { kind: 'webhook', known });
    return 'applied';
  }
  if (!n.success) {
    await failCharge(
      deps,
      t.id,
      errors.paymentDeclined(n.reason || 'The payment was refused.', declineCodeOf(n.reason, 'refused')),
    );
    return 'applied';
  }
  const done = await completeCharge(deps, t.id, {
    reference: n.pspReference,
    authorizationExpiresAt: manual ? defaultExpiry(deps.clock()) : null,
  });
  if (done.kind === 'release' && done.movement) await releasePayment(deps, done.movement);
  return 'applied';
}

/**
 * The outcome of our cancel by reference (adyen.ts `cancelUnanswered`, `cancelAction`), sent for a
 * charge whose own outcome never came or whose order ended while it waited. It ends the charge as
 * an AUTHORISATION would: cancelled — nothing was taken, or what was authorised is released — the
 * charge fails; not cancelled with the payment's pspReference (`originalReference`: it went through
 * and was captured), the charge completes, and money for an order that is not to be is given back;
 * not cancelled with no payment named, Adyen never had one: the charge fails.
 */
async function technicalCancel(deps: Deps, n: AdyenNotification): Promise<NotificationOutcome> {
  const transactionId = n.merchantReference.replace(/^cancel-/, '');
  if (!UUID.test(transactionId)) return 'ignored';
  const said = { ...n, eventCode: 'AUTHORISATION', merchantReference: transactionId };
  if (!n.success && n.originalReference)
    return authorisation(deps, { ...said, success: true, pspReference: n.originalReference });
  return authorisation(deps, {
    ...said,
    success: false,
    reason: n.success ? 'payment cancelled' : 'payment not found',
  });
}

async function capture(deps: Deps, m: Movement, n: AdyenNotification): Promise<NotificationOutcome> {
  if (m.status !== 'pending') return 'ignored';
  if (n.success) await finishCapture(deps, m.id, n.originalReference ?? m.payment_reference ?? n.pspReference);
  else
    await declineCapture(
      deps,
      m.id,
      new PaymentDeclinedError(n.reason || 'Adyen refused the capture.', captureDeclineCode(n.reason)),
    );
  return 'applied';
}

/** Adyen's reasons for a refused capture, as the codes the other providers give. */
function captureDeclineCode(reason: string): string {
  if (/expired/i.test(reason)) return 'authorization_expired';
  if (/cancel/i.test(reason)) return 'authorization_voided';
  if (/insufficient balance/i.test(reason)) return 'amount_too_large';
  return declineCodeOf(reason, 'capture_declined');
}

async function cancellation(deps: Deps, m: Movement, n: AdyenNotification): Promise<NotificationOutcome> {
  if (m.status !== 'pending') return 'ignored';
  if (n.success) await settleVoid(deps, m.id);
  else
    await failVoid(
      deps,
      m,
      new PaymentDeclinedError(
        n.reason || 'Adyen refused the cancel.',
        /captured/i.test(n.reason) ? 'already_captured' : declineCodeOf(n.reason, 'cancel_refused'),
      ),
    );
  return 'applied';
}

/** Work on a payment's money under its order's lock (or its own, for a payment that never became an order), as every such writer does. */
async function underLock(
  deps: Deps,
  t: PaymentTransaction,
  work: (trx: Db, now: Date) => Promise<void>,
): Promise<NotificationOutcome> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, t.order_id);
    if (!order) await lockTransaction(trx, t.id);
    await work(trx, now);
  });
  return 'applied';
}
