import { DomainError } from '../domain/errors.js';
import type { Order } from '../domain/order.js';
import { completeKey, releaseKey } from '../persistence/idempotency-repository.js';
import { findOrder, insertOrder } from '../persistence/order-repository.js';
import { emailMessage, eventMessage } from '../domain/messages.js';
import { enqueueAll } from '../persistence/outbox.js';
import { releaseStock } from '../persistence/product-repository.js';
import { settleNewOrder } from '../persistence/settlement.js';
import { fromNow } from '../persistence/sql-fragments.js';
import { findTransactionByReference, lockTransaction, moveTransaction, type PaymentTransaction } from '../persistence/transaction-repository.js';
import type { Deps } from './ports.js';

/**
 * The three ways a `processing` charge ends. Each locks the transaction row and
 * moves it only from `processing`, so the request and the reconciler can race
 * and exactly one of them settles it.
 */

export type Completion =
  | { kind: 'order'; order: Order }
  | { kind: 'refund'; transaction: PaymentTransaction }
  /** The provider payment already settles another transaction: this one failed, nothing more taken. */
  | { kind: 'duplicate' };

/** What the order is made from: the transaction's identity, amount and draft. */
export type ChargedTransaction = Pick<PaymentTransaction, 'id' | 'provider' | 'amount' | 'currency' | 'draft'>;

/** The money was taken: the order, its items, history, email, event and idempotent response commit together. */
export async function completeCharge(deps: Deps, transactionId: string, reference: string): Promise<Completion> {
  const now = deps.clock();
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
      await moveTransaction(trx, t.id, 'processing', 'failed', { decline_code: 'duplicate_payment', failure_reason: `payment ${reference} already settles transaction ${holder.id}` }, now);
      if (!t.abandoned) await releaseStock(trx, t.draft.items);
      if (t.draft.idempotency_key) await releaseKey(trx, t.customer_id, t.draft.idempotency_key);
      return { kind: 'duplicate' };
    }
    if (t.abandoned) {
      // The client was told "no order": the money goes back instead.
      await moveTransaction(trx, t.id, 'processing', 'refund_pending', { provider_reference: reference }, now);
      return { kind: 'refund', transaction: { ...t, status: 'refund_pending', provider_reference: reference } };
    }
    await moveTransaction(trx, t.id, 'processing', 'succeeded', { provider_reference: reference }, now);
    const order = orderFromDraft(t, reference, now);
    const d = t.draft;
    // Two statements: the order with its items and first history entry, then both messages.
    await insertOrder(trx, order, firstEntry(order));
    await enqueueAll(trx, creationMessages(order, now));
    if (d.idempotency_key) await completeKey(trx, d.user_id, d.idempotency_key, { status: 201, body: order });
    deps.metrics.ordersCreated.inc({ provider: t.provider, currency: t.currency });
    return { kind: 'order', order };
  });
}

/**
 * How the request that made the charge ends it: one statement when the transaction is still its
 * own `processing` one (nearly always), else the careful path above, which tells the other cases
 * apart. Either way the outcome is the same as `completeCharge`'s.
 */
export async function completeOwnCharge(deps: Deps, t: ChargedTransaction, reference: string): Promise<Completion> {
  const now = deps.clock();
  const order = orderFromDraft(t, reference, now);
  const d = t.draft;
  const settled = await settleNewOrder(deps.db, {
    reference,
    order,
    first: firstEntry(order),
    messages: creationMessages(order, now),
    key: d.idempotency_key ? { userId: d.user_id, key: d.idempotency_key } : null,
    now,
  });
  if (!settled) return completeCharge(deps, t.id, reference);
  deps.metrics.ordersCreated.inc({ provider: t.provider, currency: t.currency });
  return { kind: 'order', order };
}

/** A new order's first history entry: `pending`, by its customer. */
const firstEntry = (order: Order) => ({ to: 'pending' as const, at: order.created_at, actor: order.user_id, note: null });

/** What a new order owes: the confirmation email (when there is an address) and `order.created`. */
const creationMessages = (order: Order, now: Date) =>
  [emailMessage('order_confirmation', order), eventMessage('order.created', order, now)].filter((m) => m !== null);

/** The order a succeeded transaction becomes, as the API shows it. */
function orderFromDraft(t: ChargedTransaction, reference: string, now: Date): Order {
  const d = t.draft;
  const iso = now.toISOString();
  return {
    id: d.order_id,
    user_id: d.user_id,
    status: 'pending',
    currency: d.currency,
    items: d.items,
    total: d.total,
    payment: { transaction_id: t.id, provider: t.provider, provider_reference: reference, status: 'succeeded', amount: t.amount, currency: t.currency },
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
 * with the same Idempotency-Key returns.
 */
export async function failCharge(deps: Deps, transactionId: string, error: DomainError): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const t = await lockTransaction(trx, transactionId);
    if (!t || t.status !== 'processing') return;
    const declineCode = typeof error.extra.decline_code === 'string' ? error.extra.decline_code : null;
    await moveTransaction(trx, t.id, 'processing', 'failed', { decline_code: declineCode ?? error.code, failure_reason: error.message }, now);
    if (!t.abandoned) await releaseStock(trx, t.draft.items);
    const key = t.draft.idempotency_key;
    if (key && !t.abandoned && error.status < 500) {
      await completeKey(trx, t.customer_id, key, { status: error.status, body: { code: error.code, detail: error.message, ...error.extra } });
    } else if (key) {
      await releaseKey(trx, t.customer_id, key);
    }
  });
}

/**
 * The outcome is unknown (timeout, 5xx, network): the client is told 502 and no
 * order will ever be made from this charge. Stock and key are freed now; the
 * reconciler asks the provider later and refunds anything that was taken.
 */
export async function abandonCharge(deps: Deps, transactionId: string, reason: string): Promise<void> {
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const t = await lockTransaction(trx, transactionId);
    if (!t || t.status !== 'processing') return;
    await trx
      .updateTable('payment_transactions')
      .set({ abandoned: true, failure_reason: reason, next_attempt_at: fromNow(2_000), updated_at: now })
      .where('id', '=', t.id)
      .execute();
    await releaseStock(trx, t.draft.items);
    if (t.draft.idempotency_key) await releaseKey(trx, t.customer_id, t.draft.idempotency_key);
  });
}
