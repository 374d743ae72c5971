import { newId } from '../domain/ids.js';
import { DomainError } from '../domain/errors.js';
import { created, type Order } from '../domain/order.js';
import { completeKey, releaseKey } from '../persistence/idempotency-repository.js';
import { recordMovement, type Movement } from '../persistence/ledger.js';
import { findOrder } from '../persistence/order-repository.js';
import { releaseStock } from '../persistence/product-repository.js';
import { settleNewOrder } from '../persistence/settlement.js';
import {
  findTransactionByReference,
  lockTransaction,
  markAbandoned,
  moveCharge,
  type PaymentTransaction,
} from '../persistence/transaction-repository.js';
import type { Db } from '../persistence/tables.js';
import type { Deps } from './deps.js';

/**
 * The three ways a `processing` charge ends. Each moves it only from `processing` (the settlement
 * statement's guard, or the row lock here), so the request and the reconciler can race and exactly
 * one of them settles it. The order itself is written by one statement only (persistence/settlement.ts).
 */

export type Completion =
  | { kind: 'order'; order: Order }
  /** The client was told "no order": what the charge took goes back (a pending refund or void; none for a zero total). */
  | { kind: 'release'; movement: Movement | undefined }
  /** The provider payment already settles another transaction: this one failed, nothing more taken. */
  | { kind: 'duplicate' };

/** What the order is made from: the transaction's identity, amount and draft. */
export type ChargedTransaction = Pick<PaymentTransaction, 'id' | 'provider' | 'amount' | 'currency' | 'draft'>;

/** Where a provider does not say when an authorization lapses: 7 days (Stripe's and Square's for cards). */
const AUTHORIZATION_DAYS = 7;
export const defaultExpiry = (authorizedAt: Date) => new Date(authorizedAt.getTime() + AUTHORIZATION_DAYS * 86_400_000);

/** What the provider said of a charge that went through. */
export interface ChargeOutcome {
  reference: string;
  /** An authorization the charge did not capture lapses then (shipment mode). */
  authorizationExpiresAt: Date | null;
}

/**
 * The careful end of a charge (the reconciler's, or the request's when the one-statement path did
 * not apply): locks the transaction and tells apart a charge already settled, a payment that already
 * paid for another order, an abandoned charge, and the usual case, which becomes the order.
 */
export async function completeCharge(deps: Deps, transactionId: string, outcome: ChargeOutcome): Promise<Completion> {
  const now = deps.clock();
  const { reference } = outcome;
  return deps.db.transaction().execute(async (trx): Promise<Completion> => {
    const t = await lockTransaction(trx, transactionId);
    if (!t) throw new Error(`transaction ${transactionId} vanished`);
    if (t.status !== 'processing') {
      const existing = await findOrder(trx, t.order_id);
      if (existing) return { kind: 'order', order: existing };
      throw new Error(`transaction ${transactionId} is ${t.status}, not processing`);
    }
    const holder = await findTransactionByReference(trx, t.provider, reference);
    if (holder && holder.id !== t.id) {
      // That payment already paid for another order (e.g. one PayPal approval sent twice).
      await moveCharge(
        trx,
        t.id,
        'failed',
        {
          decline_code: 'duplicate_payment',
          failure_reason: `payment ${reference} already settles transaction ${holder.id}`,
        },
        now,
      );
      if (!t.abandoned) await releaseStock(trx, t.draft.items);
      if (t.draft.idempotency_key) await releaseKey(trx, t.customer_id, t.draft.idempotency_key);
      return { kind: 'duplicate' };
    }
    if (t.abandoned) {
      // The client was told "no order": the money goes back instead, recorded before it is asked for.
      const movement = await recordMoneyToGiveBack(
        deps,
        trx,
        t,
        outcome,
        'the request that made this charge answered that no order was made',
        now,
      );
      return { kind: 'release', movement };
    }
    const settled = await settle(deps, trx, t, outcome, now);
    if (!settled) throw new Error(`transaction ${transactionId} could not be settled although it is processing`);
    return { kind: 'order', order: settled };
  });
}

/**
 * Money taken for a charge that must not become an order (its request answered "no order", or its
 * order ended while the customer was still paying): the charge is recorded as it happened, then
 * the movement that gives it all back — a refund, or a void of an authorization nothing was
 * captured from — `pending`, for the caller to make after the commit (release-payment.ts). The
 * caller holds the transaction's lock. Undefined for a zero total (nothing moved).
 */
export async function recordMoneyToGiveBack(
  deps: Deps,
  trx: Db,
  t: Pick<PaymentTransaction, 'id' | 'order_id' | 'amount' | 'currency' | 'draft'>,
  outcome: ChargeOutcome,
  reason: string,
  now: Date,
): Promise<Movement | undefined> {
  await moveCharge(
    trx,
    t.id,
    'succeeded',
    { provider_reference: outcome.reference },
    now,
    outcome.authorizationExpiresAt,
  );
  if (t.amount === 0) return undefined;
  return recordMovement(trx, {
    id: newId(),
    transactionId: t.id,
    orderId: t.order_id,
    kind: captureModeOf(t) === 'immediate' ? 'refund' : 'void',
    amount: t.amount,
    currency: t.currency,
    actor: 'system',
    reason,
    retryInMs: deps.reconcileAfterMs,
    now,
  });
}

/**
 * How the request that made the charge ends it: one statement when the transaction is still its
 * own `processing` one (nearly always), else the careful path above, which tells the other cases
 * apart. Either way the outcome is the same as `completeCharge`'s.
 */
export async function completeOwnCharge(
  deps: Deps,
  t: ChargedTransaction,
  outcome: ChargeOutcome,
): Promise<Completion> {
  const order = await settle(deps, deps.db, t, outcome, deps.clock());
  return order ? { kind: 'order', order } : completeCharge(deps, t.id, outcome);
}

/** The one writer of a new order: the settlement statement. Undefined when its guard did not hold. */
async function settle(
  deps: Deps,
  db: Db,
  t: ChargedTransaction,
  outcome: ChargeOutcome,
  now: Date,
): Promise<Order | undefined> {
  const order = orderFromDraft(t, outcome, now);
  const d = t.draft;
  const settled = await settleNewOrder(db, {
    reference: outcome.reference,
    order,
    ...created(order, now),
    key: d.idempotency_key ? { userId: d.user_id, key: d.idempotency_key } : null,
    authorizationExpiresAt: captureModeOf(t) === 'shipment' ? outcome.authorizationExpiresAt : null,
    now,
  });
  if (!settled) return undefined;
  deps.metrics.ordersCreated.inc({ provider: t.provider, currency: t.currency });
  return order;
}

/** Drafts written before capture modes existed were all captured at once. */
const captureModeOf = (t: Pick<ChargedTransaction, 'draft'>) => t.draft.capture ?? 'immediate';

/** The order a succeeded transaction becomes, as the API shows it (and GET reads it back from the ledger). */
export function orderFromDraft(t: ChargedTransaction, outcome: ChargeOutcome, now: Date): Order {
  const d = t.draft;
  const iso = now.toISOString();
  const items = d.items.map((i) => ({
    ...i,
    quantity_cancelled: i.quantity_cancelled ?? 0,
    quantity_returned: i.quantity_returned ?? 0,
  }));
  const captured = captureModeOf(t) === 'immediate';
  const authorized = t.amount > 0;
  return {
    id: d.order_id,
    user_id: d.user_id,
    status: 'pending',
    currency: d.currency,
    items,
    total: d.total,
    current_total: d.total,
    payment: {
      transaction_id: t.id,
      provider: t.provider,
      provider_reference: outcome.reference,
      status: captured || !authorized ? 'succeeded' : 'authorized',
      amount: t.amount,
      currency: t.currency,
      amount_authorized: t.amount,
      amount_captured: captured ? t.amount : 0,
      amount_refunded: 0,
      authorization_expires_at:
        !captured && authorized && outcome.authorizationExpiresAt ? outcome.authorizationExpiresAt.toISOString() : null,
      next_action: null,
    },
    email: d.email,
    shipping_address: d.shipping_address,
    tracking: null,
    created_at: iso,
    updated_at: iso,
  };
}

/**
 * The provider refused: no order, stock given back, the transaction kept as
 * `failed`. The refusal is the request's final answer, so it is what a replay
 * with the same Idempotency-Key returns. With `atAttempts`, only if nobody has taken the charge
 * over since it was read with that many attempts.
 */
export async function failCharge(
  deps: Deps,
  transactionId: string,
  error: DomainError,
  atAttempts?: number,
): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const t = await lockTransaction(trx, transactionId);
    if (!t || t.status !== 'processing') return;
    // A retry took the charge over since the caller looked (place-order.ts): it is that retry's now.
    if (atAttempts !== undefined && t.attempts !== atAttempts) return;
    const declineCode = typeof error.extra.decline_code === 'string' ? error.extra.decline_code : null;
    await moveCharge(
      trx,
      t.id,
      'failed',
      { decline_code: declineCode ?? error.code, failure_reason: error.message },
      now,
    );
    if (!t.abandoned) await releaseStock(trx, t.draft.items);
    const key = t.draft.idempotency_key;
    if (key && !t.abandoned && error.status < 500) {
      await completeKey(trx, t.customer_id, key, {
        status: error.status,
        body: { code: error.code, detail: error.message, ...error.extra },
      });
    } else if (key) {
      await releaseKey(trx, t.customer_id, key);
    }
  });
}

/**
 * The outcome is unknown (timeout, 5xx, network): the client is told 502 and no
 * order will ever be made from this charge. Stock and key are freed now; the
 * reconciler asks the provider later and gives back anything that was taken.
 */
export async function abandonCharge(deps: Deps, transactionId: string, reason: string): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const t = await lockTransaction(trx, transactionId);
    if (!t || t.status !== 'processing') return;
    await markAbandoned(trx, t.id, reason, 2_000, now);
    await releaseStock(trx, t.draft.items);
    if (t.draft.idempotency_key) await releaseKey(trx, t.customer_id, t.draft.idempotency_key);
  });
}
