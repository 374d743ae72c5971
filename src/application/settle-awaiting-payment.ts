import { newId } from '../domain/ids.js';
import { cancelWhole, transition, type Order } from '../domain/order.js';
import { chargeCaptureFor, type ActionInput, type PaymentProvider, type RetrieveResult } from '../payments/provider.js';
import { recordCancellation } from '../persistence/cancellation.js';
import type { Movement } from '../persistence/ledger.js';
import { findOrder, lockOrderRow } from '../persistence/order-repository.js';
import { recordStatusChange } from '../persistence/status-change.js';
import {
  clearNextAction,
  lockTransaction,
  markAbandoned,
  moveCharge,
  type PaymentTransaction,
} from '../persistence/transaction-repository.js';
import type { Db } from '../persistence/tables.js';
import type { Actor, Deps } from './deps.js';
import { releasePayment } from './release-payment.js';
import { defaultExpiry, recordMoneyToGiveBack } from './settle-charge.js';

/** Who asks: each road to the outcome of a payment that waited for its customer. */
export type AwaitingRoad =
  /**
   * The provider's webhook (a hint: the provider is asked). `known`: what a provider that has no API
   * to ask (Adyen) said in the webhook itself, whose signature is its word (AUTHORISATION).
   */
  | { kind: 'webhook'; known?: RetrieveResult }
  /** The reconciler's sweep: a lost webhook, a crash, the expiry. */
  | { kind: 'reconciler' }
  /** The customer's return (POST …/payment/confirm), with what the provider added to the return URL. */
  | { kind: 'confirm'; actor: Actor; redirectResult: string | null }
  /** The owner or an admin cancels the order while it waits. */
  | { kind: 'cancel'; actor: Actor; reason: string | null };

export interface AwaitingOutcome {
  /** The order as it stands after this step; undefined when there is none. */
  order: Order | undefined;
  /** The charge is still open (the customer has not finished, or an ended order's payment is still being watched). */
  open: boolean;
  /** This step moved the order (placed or ended it); a racing second caller finds nothing to do. */
  changed: boolean;
}

/** What the provider said, reduced to what decides the move. */
type Truth =
  | { kind: 'paid'; reference: string; authorizationExpiresAt: Date | null }
  | { kind: 'open' }
  | { kind: 'failed'; code: string };

/**
 * The one step that decides every outcome of an order that waited for its customer; the webhook,
 * the customer's return, the reconciler and a cancel only call it. Under the order's lock (then the
 * payment's) it asks the provider for the truth — never a webhook's body — and applies the one move
 * the order status table allows from what it finds, so a second caller finds nothing left to do:
 *  - paid: the order is placed (`pending`), `order.created` and the confirmation email, once;
 *  - failed at the provider: `cancelled`, reason `payment_failed`, stock back, no email;
 *  - expired, or cancelled by its owner: the provider's payment is cancelled where it can be (asked
 *    once more first), `cancelled` with reason `payment_expired` (or the owner's), stock back;
 *  - still waiting: nothing.
 * Money that arrives for an order already ended is recorded and given back in full (actor
 * `system`), through the ledger's refund like any other. Each provider call that could move money is
 * made with a key derived from the transaction (`completeAction`), so racing roads move it once.
 */
export async function settleAwaitingPayment(deps: Deps, orderId: string, road: AwaitingRoad): Promise<AwaitingOutcome> {
  const done = await deps.db.transaction().execute(async (trx) => {
    await lockOrderRow(trx, orderId);
    const order = await findOrder(trx, orderId);
    if (!order) return { order, open: false, changed: false };
    const t = await lockTransaction(trx, order.payment.transaction_id);
    if (!t || t.status !== 'processing' || t.action_expires_at === null) return { order, open: false, changed: false };
    return decide(deps, trx, order, t, road);
  });
  if (done.movement) await releasePayment(deps, done.movement);
  return {
    order: done.movement ? await findOrder(deps.db, orderId) : done.order,
    open: done.open,
    changed: done.changed,
  };
}

interface Decision extends AwaitingOutcome {
  /** The money to give back once committed. */
  movement?: Movement;
}

async function decide(deps: Deps, trx: Db, order: Order, t: PaymentTransaction, road: AwaitingRoad): Promise<Decision> {
  const provider = deps.payments.get(t.provider);
  const input: ActionInput = {
    transactionId: t.id,
    reference: order.payment.provider_reference ?? '',
    amount: t.amount,
    currency: t.currency,
    capture: chargeCaptureFor(t.draft.capture),
    redirectResult: road.kind === 'confirm' ? road.redirectResult : null,
  };
  const now = deps.clock();
  const actor = road.kind === 'confirm' || road.kind === 'cancel' ? road.actor.sub : 'system';
  const ending = road.kind === 'cancel' || now.getTime() >= Date.parse(t.action_expires_at!);
  // Only a road that ends the order anyway may go on without an answer: the others fail and come again.
  let truth =
    road.kind === 'webhook' && road.known
      ? truthOf(deps, road.known)
      : await ask(deps, provider, input, t, { tolerateOutage: ending });

  if (order.status !== 'awaiting_payment') {
    // The order already ended while the payment was still open (the provider could not cancel it
    // then, e.g. it was down at the expiry): the reconciler asks for the cancel again on each pass, or
    // a payment the customer never finishes would stay open, and the charge `processing`, for ever.
    if (truth.kind === 'open' && road.kind === 'reconciler' && provider.cancelAction) {
      if ((await cancelAt(deps, provider, input)) === 'cancelled') {
        await moveCharge(trx, t.id, 'failed', { decline_code: 'payment_cancelled' }, now);
        return { order, open: false, changed: false };
      }
      truth = await ask(deps, provider, input, t, { tolerateOutage: true });
    }
    // What arrives now is given back.
    if (truth.kind === 'paid') {
      const movement = await recordMoneyToGiveBack(
        deps,
        trx,
        t,
        truth,
        'the payment completed after its order had ended',
        now,
      );
      return { order, open: false, changed: false, movement };
    }
    if (truth.kind === 'failed') await moveCharge(trx, t.id, 'failed', { decline_code: truth.code }, now);
    return { order, open: truth.kind === 'open', changed: false };
  }

  let stopped = false;
  if (truth.kind === 'open' && ending) {
    stopped = (await cancelAt(deps, provider, input)) === 'cancelled';
    // Asked once more: a payment that could not be cancelled may have completed meanwhile.
    if (!stopped) truth = await ask(deps, provider, input, t, { tolerateOutage: true });
  }

  if (truth.kind === 'paid') deps.faults?.afterActionCompleted?.();
  if (truth.kind === 'paid' && road.kind !== 'cancel')
    return { order: await place(deps, trx, order, t, truth, actor, now), open: false, changed: true };
  if (truth.kind === 'open' && !ending) return { order, open: true, changed: false };

  const reason =
    truth.kind === 'failed' && !stopped ? 'payment_failed' : road.kind === 'cancel' ? road.reason : 'payment_expired';
  if (truth.kind === 'paid') {
    // The owner cancelled a payment that had completed: the order ends all the same, the money goes back.
    const ended = await end(deps, trx, order, t, { actor, reason, charge: 'open' }, now);
    const movement = await recordMoneyToGiveBack(
      deps,
      trx,
      t,
      truth,
      'the order was cancelled while its payment completed',
      now,
    );
    return { order: ended, open: false, changed: true, movement };
  }
  // Cancelled at the provider, or failed there: nothing can be taken any more. Otherwise the order
  // ends all the same and the charge stays open, watched by the reconciler.
  const charge = truth.kind === 'failed' || stopped ? 'failed' : 'open';
  const code = truth.kind === 'failed' ? truth.code : 'payment_cancelled';
  const ended = await end(deps, trx, order, t, { actor, reason, charge, code }, now);
  return { order: ended, open: charge === 'open', changed: true };
}

async function ask(
  deps: Deps,
  provider: PaymentProvider,
  input: ActionInput,
  t: PaymentTransaction,
  opts: { tolerateOutage: boolean },
): Promise<Truth> {
  let found: RetrieveResult;
  try {
    found = provider.completeAction
      ? await provider.completeAction(input)
      : await provider.retrieve({
          transactionId: t.id,
          reference: input.reference,
          source: t.source,
          amount: t.amount,
          currency: t.currency,
          capture: input.capture,
        });
  } catch (err) {
    if (!opts.tolerateOutage) throw err;
    deps.logger.warn(
      { err, transactionId: t.id },
      'the provider could not say how a payment that waited for its customer stands; treated as still open',
    );
    return { kind: 'open' };
  }
  return truthOf(deps, found);
}

function truthOf(deps: Deps, found: RetrieveResult): Truth {
  switch (found.status) {
    case 'succeeded':
      return { kind: 'paid', reference: found.reference, authorizationExpiresAt: null };
    case 'authorized':
      return {
        kind: 'paid',
        reference: found.reference,
        authorizationExpiresAt: found.authorizationExpiresAt ?? defaultExpiry(deps.clock()),
      };
    case 'failed':
      return { kind: 'failed', code: found.declineCode ?? 'payment_failed' };
    case 'voided':
      return { kind: 'failed', code: found.expired ? 'authorization_expired' : 'authorization_voided' };
    default:
      // `processing` (the customer has not finished) or `not_found` (not yet at the provider).
      return { kind: 'open' };
  }
}

async function cancelAt(
  deps: Deps,
  provider: PaymentProvider,
  input: ActionInput,
): Promise<'cancelled' | 'not_cancelled'> {
  if (!provider.cancelAction) return 'not_cancelled';
  try {
    return await provider.cancelAction(input);
  } catch (err) {
    deps.logger.warn(
      { err, transactionId: input.transactionId },
      'the provider could not cancel a payment that waited for its customer; it stays watched',
    );
    return 'not_cancelled';
  }
}

/** Paid: the order is placed, and owes what every new order owes — once, since it moves only from `awaiting_payment`. */
async function place(
  deps: Deps,
  trx: Db,
  order: Order,
  t: PaymentTransaction,
  truth: Extract<Truth, { kind: 'paid' }>,
  actor: string,
  now: Date,
): Promise<Order> {
  const authorizationExpiresAt = t.draft.capture === 'shipment' ? truth.authorizationExpiresAt : null;
  await moveCharge(trx, t.id, 'succeeded', { provider_reference: truth.reference }, now, authorizationExpiresAt);
  await clearNextAction(trx, t.id);
  const paid = (await findOrder(trx, order.id))!;
  const move = transition(paid, 'pending', actor, now);
  await recordStatusChange(trx, move);
  deps.metrics.ordersCreated.inc({ provider: t.provider, currency: t.currency });
  return move.order;
}

/**
 * The order ends `cancelled`, its stock back, `order.cancelled` with the reason and no email (the
 * customer never had a confirmation). The charge either failed (`failed`: nothing can be taken any
 * more) or stays `open`: marked abandoned, so the reconciler keeps asking and gives back whatever
 * still arrives.
 */
async function end(
  deps: Deps,
  trx: Db,
  order: Order,
  t: PaymentTransaction,
  how: { actor: string; reason: string | null; charge: 'failed' | 'open'; code?: string },
  now: Date,
): Promise<Order> {
  if (how.charge === 'failed')
    await moveCharge(trx, t.id, 'failed', { decline_code: how.code ?? null, failure_reason: how.reason }, now);
  else
    await markAbandoned(trx, t.id, how.reason ?? 'the order ended before its payment did', deps.reconcileAfterMs, now);
  await clearNextAction(trx, t.id);
  const current = (await findOrder(trx, order.id))!;
  const move = cancelWhole(current, how.actor, now, how.reason);
  await recordCancellation(trx, {
    ...move,
    movementId: newId(),
    retryInMs: deps.reconcileAfterMs,
    now,
  });
  return move.order;
}
