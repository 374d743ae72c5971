import { sql } from 'kysely';
import type { OrderItem, ShippingAddress } from '../domain/order.js';
import { assertChargeMove, type CaptureMode, type ProviderId, type TransactionStatus } from '../domain/payment.js';
import { toAmount, toIso } from './rows.js';
import { fromNow } from './sql-fragments.js';
import type { Db, TransactionRow } from './tables.js';

/** What is needed to finish the order after a crash between the charge and the commit. */
export interface OrderDraft {
  order_id: string;
  user_id: string;
  currency: string;
  items: OrderItem[];
  total: number;
  email: string | null;
  shipping_address: ShippingAddress | null;
  idempotency_key: string | null;
  /** Absent in drafts from before capture modes: those captured at once. */
  capture?: CaptureMode;
}

export interface PaymentTransaction {
  id: string;
  order_id: string;
  customer_id: string;
  provider: ProviderId;
  provider_reference: string | null;
  status: TransactionStatus;
  amount: number;
  currency: string;
  source: string;
  decline_code: string | null;
  abandoned: boolean;
  attempts: number;
  draft: OrderDraft;
  /** Set once the charge asked for its customer (3-D Secure, a redirect, an approval): the order then waits until this. */
  action_expires_at: string | null;
  created_at: string;
}

const toTransaction = (r: TransactionRow): PaymentTransaction => ({
  id: r.id,
  order_id: r.order_id,
  customer_id: r.customer_id,
  provider: r.provider as ProviderId,
  provider_reference: r.provider_reference,
  status: r.status as TransactionStatus,
  amount: toAmount(r.amount),
  currency: r.currency,
  source: r.source,
  decline_code: r.decline_code,
  abandoned: r.abandoned,
  attempts: r.attempts,
  draft: r.order_draft as OrderDraft,
  action_expires_at: r.action_expires_at === null ? null : toIso(r.action_expires_at),
  created_at: toIso(r.created_at),
});

/** A transaction about to be charged: recorded `processing`, with the order it will become. */
export interface NewTransaction {
  id: string;
  provider: ProviderId;
  source: string;
  draft: OrderDraft;
  /** `immediate`: the charge captures; `shipment`: it only authorizes, the move to `shipped` captures. */
  capture: CaptureMode;
  /** How long the request has before the reconciler looks at it, from the database's clock. */
  reconcileAfterMs: number;
  now: Date;
}

export async function findTransaction(db: Db, id: string): Promise<PaymentTransaction | undefined> {
  const row = await db.selectFrom('payment_transactions').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toTransaction(row);
}

export async function lockTransaction(trx: Db, id: string): Promise<PaymentTransaction | undefined> {
  const row = await trx
    .selectFrom('payment_transactions')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && toTransaction(row);
}

export async function findTransactionByReference(
  db: Db,
  provider: string,
  reference: string,
): Promise<PaymentTransaction | undefined> {
  const row = await db
    .selectFrom('payment_transactions')
    .selectAll()
    .where('provider', '=', provider)
    .where('provider_reference', '=', reference)
    .executeTakeFirst();
  return row && toTransaction(row);
}

/**
 * Moves a charge on only from `processing` (the domain's table says so), and with it the ledger's
 * authorization and capture, which the payment row records (migration 017): false when someone else
 * (the reconciler, a racing request) has already moved it.
 */
export async function moveCharge(
  trx: Db,
  id: string,
  to: Exclude<TransactionStatus, 'processing'>,
  fields: { provider_reference?: string | null; decline_code?: string | null; failure_reason?: string | null } = {},
  now = new Date(),
  authorizationExpiresAt: Date | null = null,
): Promise<boolean> {
  assertChargeMove('processing', to);
  const r = await trx
    .updateTable('payment_transactions')
    .set({
      ...fields,
      status: to,
      updated_at: now,
      authorization_expires_at: to === 'succeeded' ? authorizationExpiresAt : null,
    })
    .where('id', '=', id)
    // Not the unsettled payments' partial index: by primary key (settlement.ts says why).
    .where(sql<boolean>`(status = 'processing') is true`)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** The client was told "no order" (502): whatever the provider took is given back, never made an order. */
export async function markAbandoned(trx: Db, id: string, reason: string, retryInMs: number, now: Date): Promise<void> {
  await trx
    .updateTable('payment_transactions')
    .set({ abandoned: true, failure_reason: reason, next_attempt_at: fromNow(retryInMs), updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** The payment no longer waits for its customer (it ended one way or the other): `next_action` goes. */
export async function clearNextAction(trx: Db, id: string): Promise<void> {
  await trx.updateTable('payment_transactions').set({ next_action: null }).where('id', '=', id).execute();
}

/** Puts off the next reconciliation/refund attempt by `delayMs` (exponential backoff decided by the caller). */
export async function scheduleRetry(trx: Db, id: string, delayMs: number, reason: string | null): Promise<void> {
  await trx
    .updateTable('payment_transactions')
    // The pass is over: nobody holds the charge until its next one (or a retry that takes it over).
    .set({
      next_attempt_at: fromNow(delayMs),
      leased_until: sql<Date>`now()`,
      attempts: sql`attempts + 1`,
      failure_reason: reason,
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Claims charges whose outcome is still open (`processing`) and whose time has come. SKIP LOCKED
 * lets several instances share the work; the lease keeps others off it meanwhile. Movements after
 * the charge are claimed from the ledger (ledger.ts claimDueMovements).
 */
export async function claimUnsettled(trx: Db, limit: number, leaseMs: number): Promise<PaymentTransaction[]> {
  const rows = await trx
    .selectFrom('payment_transactions')
    .selectAll()
    .where('status', '=', 'processing')
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .orderBy('next_attempt_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
  if (rows.length > 0) {
    await trx
      .updateTable('payment_transactions')
      .set({ next_attempt_at: fromNow(leaseMs), leased_until: fromNow(leaseMs) })
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
  }
  return rows.map(toTransaction);
}

/**
 * A retry with the same user, Idempotency-Key and body takes over the charge its key reserved when
 * nobody holds it any more (the request that reserved it died or lost the database before it
 * charged or settled, and no reconciler pass is at work on it): one statement, so of racing retries
 * and reconciler passes exactly one gets it. The taker holds it for `holdMs`, as a fresh request
 * would, and `attempts` moves on so a reconciler pass that outlived its lease can tell.
 */
export async function takeOverStranded(
  db: Db,
  key: { userId: string; key: string; fingerprint: string },
  holdMs: number,
): Promise<PaymentTransaction | undefined> {
  const { rows } = await sql<TransactionRow>`
    update payment_transactions t
    set leased_until = ${fromNow(holdMs)}, next_attempt_at = ${fromNow(holdMs)}, attempts = t.attempts + 1
    from idempotency_keys k
    where k.user_id = ${key.userId} and k.key = ${key.key} and k.fingerprint = ${key.fingerprint}
      and k.state = 'in_progress' and k.expires_at >= now()
      and t.id = k.transaction_id and t.status = 'processing' and not t.abandoned
      and coalesce(t.leased_until, t.next_attempt_at) <= now()
    returning t.*`.execute(db);
  return rows[0] && toTransaction(rows[0]);
}
