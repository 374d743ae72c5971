import { newId } from '../domain/ids.js';
import { DomainError, errors } from '../domain/errors.js';
import type { Order, ShippingAddress } from '../domain/order.js';
import type { ProviderId } from '../domain/payment.js';
import { priceItems, type RequestedItem } from '../domain/pricing.js';
import {
  chargeCaptureFor,
  PaymentAmountMismatchError,
  PaymentDeclinedError,
  PaymentIntentMismatchError,
} from '../payments/provider.js';
import { isMollieMethod } from '../payments/mollie-methods.js';
import type { KeyClaim } from '../persistence/idempotency-repository.js';
import { findOrder } from '../persistence/order-repository.js';
import { findProducts, type Product } from '../persistence/product-repository.js';
import { reserveOrder } from '../persistence/reservation.js';
import { takeOverStranded, type NewTransaction } from '../persistence/transaction-repository.js';
import { keyClaim, KeyNotClaimed, withIdempotencyKey, type Replayed } from './idempotency.js';
import type { Actor, Deps } from './deps.js';
import { releasePayment } from './release-payment.js';
import { abandonCharge, completeOwnCharge, defaultExpiry, failCharge, type ChargeOutcome } from './settle-charge.js';
import { awaitCustomer } from './await-customer.js';

export interface PlaceOrderInput {
  items: RequestedItem[];
  currency: string;
  /**
   * `source`: the provider's token (for Adyen, the web components' `paymentMethod` object; absent for
   * a PayPal order the service creates); `return_url`: where the customer comes back after
   * completing a payment at the provider.
   */
  payment: { provider: ProviderId; source?: string | Record<string, unknown>; return_url?: string };
  email?: string | null;
  shipping_address?: ShippingAddress | null;
}

/** The charge a request makes: the one it reserved, or the one a stranded request reserved under its key. */
type ChargeToMake = Pick<NewTransaction, 'id' | 'provider' | 'source' | 'draft'>;

export type PlaceOrderResult = { kind: 'created'; order: Order } | Replayed;

/**
 * Creating an order is three short steps, never one long transaction around a
 * network call, and three round trips to the database (docs/performance.md):
 *  1. reserve: read the catalog and price the cart, then in one statement claim the
 *     idempotency key, take stock and record the transaction as `processing` with its first
 *     ledger movements (authorization, and in immediate mode capture), all `pending`;
 *  2. charge the provider with our transaction id as its idempotency key;
 *  3. settle: the movements succeeded + order + items + history + outbox + stored response —
 *     one statement.
 * A crash between 2 and 3 leaves a `processing` row that the reconciler settles. A request that
 * lost the database after 1 committed (or died before 2) leaves one nobody charges: a retry with the
 * same key takes it over once its lease has lapsed and goes on from 2 with the same transaction id,
 * so a charge the first request did make is the one the provider answers with, never a second.
 */
/**
 * The source as the transaction keeps it (text), checked against what the provider takes: Adyen
 * only its web components' `paymentMethod` object (kept as its JSON), Mollie an optional method it
 * can name and always a return_url (every Mollie payment needs the customer), the others a token.
 * A mix-up is the caller's 422, before anything is reserved or charged.
 */
function sourceOf(payment: PlaceOrderInput['payment']): string {
  const { provider, source } = payment;
  const invalid = (path: string, message: string) => errors.validation([{ path, message }]);
  if (provider === 'mollie') {
    // Every Mollie payment needs the customer; without a method, Mollie's checkout lets them choose.
    if (!payment.return_url)
      throw invalid('/payment/return_url', 'is required for mollie: every Mollie payment needs the customer');
    if (source !== undefined && (typeof source !== 'string' || !isMollieMethod(source)))
      throw invalid('/payment/source', 'must be a Mollie method (ideal, creditcard, bancontact, …)');
    return source ?? '';
  }
  // Left out (checked by assertPaymentFields): the provider's payment is made without one.
  if (source === undefined) return '';
  const wantsObject = provider === 'adyen';
  if (wantsObject !== (typeof source === 'object')) {
    throw invalid(
      '/payment/source',
      wantsObject ? "must be Adyen's paymentMethod object" : "must be the provider's token (a string)",
    );
  }
  return typeof source === 'string' ? source : JSON.stringify(source);
}

export async function placeOrder(
  deps: Deps,
  actor: Actor,
  input: PlaceOrderInput,
  idempotencyKey: string | null,
): Promise<PlaceOrderResult> {
  assertPaymentFields(input.payment);
  const provider = deps.payments.get(input.payment.provider);
  const now = deps.clock();
  const key = idempotencyKey ? keyClaim(actor.sub, idempotencyKey, input, now) : null;
  const reserved = await withIdempotencyKey(
    deps,
    key,
    () => reserve(deps, actor, input, key, { provider: provider.id, now }),
    (k) => takeOver(deps, k),
  );
  if (reserved.kind === 'replayed') return reserved;
  const { transaction } = reserved;
  const draft = transaction.draft;

  await deps.faults?.beforeCharge?.();
  let outcome: ChargeOutcome;
  try {
    const charged = await provider.charge({
      transactionId: transaction.id,
      amount: draft.total,
      currency: draft.currency,
      source: transaction.source,
      customerId: actor.sub,
      description: `Order ${draft.order_id}`,
      capture: chargeCaptureFor(draft.capture ?? deps.capture),
      returnUrl: input.payment.return_url ?? null,
    });
    if (charged.action) {
      // The provider made a payment that waits for its customer (Mollie's always do); not yet recorded here.
      deps.faults?.afterCharge?.();
      return { kind: 'created', order: await awaitCustomer(deps, transaction, charged.reference, charged.action, now) };
    }
    outcome = {
      reference: charged.reference,
      authorizationExpiresAt: charged.captured ? null : (charged.authorizationExpiresAt ?? defaultExpiry(now)),
    };
  } catch (err) {
    const failure = await chargeFailed(deps, transaction.id, provider.id, err);
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

  const done = await completeOwnCharge(
    deps,
    { id: transaction.id, provider: provider.id, amount: draft.total, currency: draft.currency, draft },
    outcome,
  );
  if (done.kind === 'order') return { kind: 'created', order: done.order };
  if (done.kind === 'duplicate')
    throw errors.paymentDeclined('This payment already paid for another order.', 'duplicate_payment');
  // Only an abandoned charge settles by giving the money back, and this request did not abandon it.
  if (done.movement) await releasePayment(deps, done.movement);
  throw errors.providerError();
}

/**
 * Step 1. The catalog is read outside the reservation, as before it was read before the stock was
 * locked: an order is priced at the catalog as it stood when the request read it. A request
 * whose key already holds an answer gets that answer, whatever the catalog or stock say now: the
 * reservation claims the key only when it takes the stock, so a refusal before that leaves the key to say.
 */
async function reserve(
  deps: Deps,
  actor: Actor,
  input: PlaceOrderInput,
  key: KeyClaim | null,
  at: { provider: ProviderId; now: Date },
): Promise<Reserved | KeyNotClaimed> {
  let priced: ReturnType<typeof priceItems>;
  let catalog: Map<string, Product>;
  try {
    catalog = await findProducts(deps.db, [...new Set(input.items.map((i) => i.product_id))]);
    priced = priceItems(input.items, catalog, input.currency);
  } catch (err) {
    if (err instanceof DomainError) return new KeyNotClaimed(err);
    throw err;
  }
  const transaction: NewTransaction = {
    id: newId(),
    provider: at.provider,
    source: sourceOf(input.payment),
    draft: {
      order_id: newId(),
      user_id: actor.sub,
      currency: input.currency,
      items: priced.items,
      total: priced.total,
      email: input.email ?? actor.email,
      shipping_address: input.shipping_address ?? null,
      idempotency_key: key?.key ?? null,
      capture: deps.capture,
    },
    capture: deps.capture,
    reconcileAfterMs: deps.reconcileAfterMs,
    now: at.now,
  };
  const stocked = priced.items.filter((i) => catalog.get(i.product_id)?.stock !== null);
  const outcome = await reserveOrder(deps.db, { stocked, key, transaction });
  if (outcome.reserved) return { kind: 'reserved', transaction };
  if (outcome.short.length === 0) return new KeyNotClaimed();
  return new KeyNotClaimed(
    new DomainError('out_of_stock', `Not enough stock for ${outcome.short.join(', ')}.`, {
      product_ids: outcome.short,
    }),
  );
}

interface Reserved {
  kind: 'reserved';
  transaction: ChargeToMake;
}

/** A key still in progress whose request left its charge reserved and unmade (its lease lapsed): this request makes it. */
async function takeOver(deps: Deps, key: KeyClaim): Promise<Reserved | undefined> {
  const t = await takeOverStranded(deps.db, key, deps.reconcileAfterMs);
  if (!t) return undefined;
  deps.logger.warn(
    { transactionId: t.id, attempts: t.attempts },
    'a retry took over a charge its first request left reserved',
  );
  return { kind: 'reserved', transaction: { id: t.id, provider: t.provider, source: t.source, draft: t.draft } };
}

/** The provider's refusals of a charge: each fails it for good, with what the client is told and the metric's outcome. */
function refusalOf(err: unknown): { outcome: string; error: DomainError } | undefined {
  if (err instanceof PaymentDeclinedError)
    return {
      outcome: 'declined',
      error: errors.paymentDeclined(err.message || 'The payment was declined.', err.declineCode),
    };
  if (err instanceof PaymentIntentMismatchError)
    return { outcome: 'intent_mismatch', error: new DomainError('payment_intent_mismatch', err.message) };
  if (err instanceof PaymentAmountMismatchError)
    return { outcome: 'amount_mismatch', error: new DomainError('payment_amount_mismatch', err.message) };
  return undefined;
}

/** A refused charge fails; any other error leaves its outcome unknown, to the reconciler. */

/** Providers whose payment the service can start without a token: the customer chooses and approves at the provider. */
const SOURCE_OPTIONAL: ReadonlySet<ProviderId> = new Set(['paypal', 'mollie']);

/** What the schema alone cannot say: `source` may be left out only where the provider can do without it, and then the customer must come back. */
function assertPaymentFields(p: PlaceOrderInput['payment']): void {
  if (p.source !== undefined) return;
  if (!SOURCE_OPTIONAL.has(p.provider))
    throw errors.validation([{ path: '/payment/source', message: `is required for ${p.provider}` }]);
  if (p.return_url === undefined)
    throw errors.validation([{ path: '/payment/return_url', message: 'is required without payment.source' }]);
}

async function chargeFailed(
  deps: Deps,
  transactionId: string,
  provider: ProviderId,
  err: unknown,
): Promise<DomainError> {
  const refusal = refusalOf(err);
  if (refusal) {
    deps.metrics.payments.inc({ provider, outcome: refusal.outcome });
    await failCharge(deps, transactionId, refusal.error);
    return refusal.error;
  }
  deps.metrics.payments.inc({ provider, outcome: 'error' });
  deps.logger.error({ err, transactionId, provider }, 'payment provider failed; charge left to reconciliation');
  await abandonCharge(deps, transactionId, err instanceof Error ? err.message : String(err));
  return errors.providerError();
}
