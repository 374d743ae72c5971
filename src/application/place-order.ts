import { createHash, randomUUID } from 'node:crypto';
import { DomainError, errors } from '../domain/errors.js';
import type { Order, ShippingAddress } from '../domain/order.js';
import type { ProviderId } from '../domain/payment.js';
import { priceItems, type RequestedItem } from '../domain/pricing.js';
import { PaymentAmountMismatchError, PaymentDeclinedError } from '../payments/provider.js';
import { claimKey, type StoredResponse } from '../persistence/idempotency-repository.js';
import { findOrder } from '../persistence/order-repository.js';
import { findProducts, reserveStock } from '../persistence/product-repository.js';
import { insertTransaction, type OrderDraft } from '../persistence/transaction-repository.js';
import type { Actor, Deps } from './ports.js';
import { abandonCharge, completeCharge, failCharge } from './settle-charge.js';
import { refundPayment } from './refund-payment.js';

export interface PlaceOrderInput {
  items: RequestedItem[];
  currency: string;
  payment: { provider: ProviderId; source: string };
  email?: string | null;
  shipping_address?: ShippingAddress | null;
}

export type PlaceOrderResult =
  | { kind: 'created'; order: Order }
  /** A stored response for the same Idempotency-Key and body. */
  | { kind: 'replayed'; response: StoredResponse };

/** Idempotency keys are kept at least 24 hours (the IETF draft's expectation); we keep them 48. */
const KEY_TTL_MS = 48 * 3600_000;

/**
 * Creating an order is three short steps, never one long transaction around a
 * network call:
 *  1. reserve: claim the idempotency key, price from the catalog, take stock and
 *     record the transaction as `processing` — one transaction;
 *  2. charge the provider with our transaction id as its idempotency key;
 *  3. settle: order + items + history + outbox + stored response — one transaction.
 * A crash between 2 and 3 leaves a `processing` row that the reconciler settles.
 */
export async function placeOrder(deps: Deps, actor: Actor, input: PlaceOrderInput, idempotencyKey: string | null): Promise<PlaceOrderResult> {
  const provider = deps.payments.get(input.payment.provider);
  const now = deps.clock();
  const transactionId = randomUUID();

  const reserved = await deps.db.transaction().execute(async (trx) => {
    if (idempotencyKey) {
      const claim = await claimKey(trx, actor.sub, idempotencyKey, fingerprint(input), new Date(now.getTime() + KEY_TTL_MS));
      if (claim.state === 'completed') return { replay: claim.response, draft: null };
      if (claim.state === 'mismatch') {
        throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
      }
      if (claim.state === 'in_progress') {
        throw new DomainError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.');
      }
    }
    const catalog = await findProducts(trx, [...new Set(input.items.map((i) => i.product_id))]);
    const { items, total } = priceItems(input.items, catalog, input.currency);
    const short = await reserveStock(trx, items.filter((i) => catalog.get(i.product_id)?.stock !== null));
    if (short.length > 0) {
      throw new DomainError('out_of_stock', `Not enough stock for ${short.join(', ')}.`, { product_ids: short });
    }
    const draft: OrderDraft = {
      order_id: randomUUID(),
      user_id: actor.sub,
      currency: input.currency,
      items,
      total,
      email: input.email ?? actor.email,
      shipping_address: input.shipping_address ?? null,
      idempotency_key: idempotencyKey,
    };
    await insertTransaction(trx, {
      id: transactionId,
      provider: provider.id,
      source: input.payment.source,
      draft,
      reconcileAfter: new Date(now.getTime() + deps.reconcileAfterMs),
      now,
    });
    return { replay: null, draft };
  });
  if (reserved.replay) return { kind: 'replayed', response: reserved.replay };
  const draft = reserved.draft as OrderDraft;

  let reference: string;
  try {
    ({ reference } = await provider.charge({
      transactionId,
      amount: draft.total,
      currency: draft.currency,
      source: input.payment.source,
      customerId: actor.sub,
      description: `Order ${draft.order_id}`,
    }));
  } catch (err) {
    const failure = await chargeFailed(deps, transactionId, provider.id, err);
    // The outcome was unknown here, but the reconciler may have settled this charge while the
    // request waited (a lease shorter than the charge, clock skew): then the order exists and
    // is the answer, not a 502 that says there is none.
    if (failure.status >= 500) {
      const order = await findOrder(deps.db, draft.order_id);
      if (order) return { kind: 'created', order };
    }
    throw failure;
  }
  deps.metrics.payments.inc({ provider: provider.id, outcome: 'succeeded' });
  deps.faults?.afterCharge?.();

  const done = await completeCharge(deps, transactionId, reference);
  if (done.kind === 'order') return { kind: 'created', order: done.order };
  if (done.kind === 'duplicate') throw errors.paymentDeclined('This payment already paid for another order.', 'duplicate_payment');
  // Only an abandoned charge settles as a refund, and this request did not abandon it.
  await refundPayment(deps, done.transaction);
  throw errors.providerError();
}

async function chargeFailed(deps: Deps, transactionId: string, provider: ProviderId, err: unknown): Promise<DomainError> {
  if (err instanceof PaymentDeclinedError) {
    deps.metrics.payments.inc({ provider, outcome: 'declined' });
    const declined = errors.paymentDeclined(err.message || 'The payment was declined.', err.declineCode);
    await failCharge(deps, transactionId, declined);
    return declined;
  }
  if (err instanceof PaymentAmountMismatchError) {
    deps.metrics.payments.inc({ provider, outcome: 'amount_mismatch' });
    const mismatch = new DomainError('payment_amount_mismatch', err.message);
    await failCharge(deps, transactionId, mismatch);
    return mismatch;
  }
  deps.metrics.payments.inc({ provider, outcome: 'error' });
  deps.logger.error({ err, transactionId, provider }, 'payment provider failed; charge left to reconciliation');
  await abandonCharge(deps, transactionId, err instanceof Error ? err.message : String(err));
  return errors.providerError();
}

/** The request's identity for Idempotency-Key reuse checks: its body, canonically serialized. */
export function fingerprint(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
