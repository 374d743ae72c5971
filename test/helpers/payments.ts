import { expect } from 'vitest';
import { sql } from 'kysely';
import { reconcilePayments } from '../../src/application/reconcile-payments.js';
import { fromMajorString } from '../../src/domain/money.js';
import { derivePayment, type TransactionStatus } from '../../src/domain/payment.js';
import { readLedgerSums } from '../../src/persistence/ledger.js';
import type { TransactionRow } from '../../src/persistence/tables.js';
import type { Emulators } from '../emulators/index.js';
import type { HttpEmulator } from '../emulators/http-emulator.js';
import { putProduct, type TestApp } from './app.js';
import { createOrder, uid } from './http.js';

/**
 * HTTP-level payment tests: the real app with its providers pointed at the in-process emulators
 * (test/emulators; buildTestApp's `emulators` option), and one view
 * per provider of what its emulator says happened to the money.
 */
export const REAL_PROVIDERS = ['stripe', 'square', 'paypal'] as const;
export type RealProvider = (typeof REAL_PROVIDERS)[number];

/** The provider contract suite's short timeouts (test/payments/harness.ts), for the fault tests through the app. */
export { FAST } from '../payments/harness.js';

export interface ProviderView {
  id: RealProvider;
  emulator: HttpEmulator;
  /** `METHOD /path` of the call that takes the money, and of the one that gives it back. */
  chargePath: RegExp;
  refundPath: RegExp;
  /**
   * HTTP attempts one SDK call makes when every attempt times out, with FAST:
   * Stripe and PayPal retry timeouts, Square does not.
   */
  attemptsOnTimeout: number;
  /** A source that pays `total` minor units of `currency` (PayPal: an order the buyer approved for it). */
  source(total: number, currency?: string): string;
  declined(total: number): { source: string; declineCode: string };
  /** Completed charges the provider made for one of our transaction ids. */
  charges(transactionId: string): number;
  /** Amounts (minor units) of the refunds of one payment, whatever their status. */
  refunds(reference: string): number[];
  refundStatus(status: 'succeeded' | 'pending' | 'failed'): void;
  settleRefunds(): void;
}

const UPPER = { succeeded: 'COMPLETED', pending: 'PENDING', failed: 'FAILED' } as const;

export function providerView(emu: Emulators, id: RealProvider): ProviderView {
  switch (id) {
    case 'stripe':
      return {
        id,
        emulator: emu.stripe,
        chargePath: /^POST \/v1\/payment_intents$/,
        refundPath: /^POST \/v1\/refunds$/,
        attemptsOnTimeout: 2,
        source: () => 'pm_card_visa',
        declined: () => ({ source: 'pm_card_chargeDeclinedInsufficientFunds', declineCode: 'insufficient_funds' }),
        charges: (tx) => emu.stripe.chargesFor(tx),
        refunds: (ref) => emu.stripe.refundsFor(ref).map((r) => r.amount),
        refundStatus: (s) => (emu.stripe.refundStatus = s),
        settleRefunds: () => emu.stripe.settleRefunds(),
      };
    case 'square':
      return {
        id,
        emulator: emu.square,
        chargePath: /^POST \/v2\/payments$/,
        refundPath: /^POST \/v2\/refunds$/,
        attemptsOnTimeout: 1,
        source: () => 'cnon:card-nonce-ok',
        declined: () => ({ source: 'cnon:card-nonce-declined', declineCode: 'generic_decline' }),
        charges: (tx) => emu.square.chargesFor(tx),
        refunds: (ref) => emu.square.refundsFor(ref).map((r) => r.amount_money.amount),
        refundStatus: (s) => (emu.square.refundStatus = UPPER[s]),
        settleRefunds: () => emu.square.settleRefunds(),
      };
    case 'paypal':
      return {
        id,
        emulator: emu.paypal,
        chargePath: /^POST \/v2\/checkout\/orders\/[^/]+\/capture$/,
        refundPath: /^POST \/v2\/payments\/captures\/[^/]+\/refund$/,
        attemptsOnTimeout: 2,
        source: (total, currency = 'USD') => emu.paypal.approvedOrder(total, currency),
        declined: (total) => ({
          source: emu.paypal.approvedOrder(total, 'USD', { decline: true }),
          declineCode: 'instrument_declined',
        }),
        charges: (tx) => emu.paypal.capturesFor(tx),
        refunds: (ref) =>
          emu.paypal.refundsFor(ref).map((r) => fromMajorString(r.amount.value, r.amount.currency_code)),
        refundStatus: (s) => (emu.paypal.refundStatus = UPPER[s]),
        settleRefunds: () => emu.paypal.settleRefunds(),
      };
  }
}

export function paymentBody(
  provider: RealProvider,
  source: string,
  items: { product_id: string; quantity: number }[],
  extra: Record<string, unknown> = {},
) {
  return { items, currency: 'USD', payment: { provider, source }, ...extra };
}

/**
 * Every transaction of a user, oldest first, straight from the tables: the row, with `status` and
 * `amount_refunded` as its ledger says (the payment's status; the charge's own is `charge_status`).
 */
export async function transactionsOf(t: TestApp, userId: string) {
  const rows = await t.db
    .selectFrom('payment_transactions')
    .selectAll()
    .where('customer_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return Promise.all(rows.map((r) => withLedger(t, r)));
}

export async function transaction(t: TestApp, id: string) {
  return withLedger(
    t,
    await t.db.selectFrom('payment_transactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );
}

async function withLedger(t: TestApp, r: TransactionRow) {
  const payment = derivePayment(await readLedgerSums(t.db, r.id), r.status as TransactionStatus);
  return {
    ...r,
    charge_status: r.status,
    status: payment.status,
    amount: Number(r.amount),
    amount_refunded: payment.amount_refunded,
  };
}

/**
 * Runs the service's reconciler once, as its worker would, after making the
 * given transactions due now (their lease or backoff is otherwise minutes).
 */
export async function reconcileNow(t: TestApp, ...transactionIds: string[]): Promise<void> {
  if (transactionIds.length > 0) {
    await t.db
      .updateTable('payment_transactions')
      .set({ next_attempt_at: sql<Date>`now() - interval '1 second'` })
      .where('id', 'in', transactionIds)
      .execute();
    await t.db
      .updateTable('payment_movements')
      .set({ next_attempt_at: sql<Date>`now() - interval '1 second'` })
      .where('transaction_id', 'in', transactionIds)
      .where('status', '=', 'pending')
      .where('kind', 'in', ['capture', 'void', 'refund'])
      .execute();
  }
  while ((await reconcilePayments(t.app.deps)) > 0) {
    // drain: a claimed row gets a lease, so this ends
  }
}

/** Lapses a `processing` transaction's lease now, as its RECONCILE_AFTER_MS running out would: no test sleeps a lease out. */
export async function lapseLease(t: TestApp, id: string): Promise<void> {
  await t.db
    .updateTable('payment_transactions')
    .set({
      leased_until: sql<Date>`now() - interval '1 second'`,
      next_attempt_at: sql<Date>`now() - interval '1 second'`,
    })
    .where('id', '=', id)
    .execute();
}

/** Makes a transaction look `minutes` old (created_at is immutable to the app, so raw SQL). */
export async function ageTransaction(t: TestApp, id: string, minutes: number): Promise<void> {
  await sql`update payment_transactions set created_at = now() - make_interval(mins => ${minutes}) where id = ${id}`.execute(
    t.db,
  );
}

/** A fresh product (5 in stock) and buyer, and one unit of it ordered and paid through `id`: the buyer's token and the order (201). */
export async function paidOrderThrough(t: TestApp, emu: Emulators, id: RealProvider, price: number) {
  const productId = uid('sku');
  await putProduct(t, productId, { price, stock: 5 });
  const token = await t.token(uid('buyer'));
  const res = await createOrder(
    t,
    token,
    paymentBody(id, providerView(emu, id).source(price), [{ product_id: productId, quantity: 1 }]),
  );
  expect(res.statusCode, res.body).toBe(201);
  return { token, order: res.json() };
}
