import type { ProviderOptions } from '../../src/payments/options.js';
import type { PaymentProvider } from '../../src/payments/provider.js';
import { createPayPalProvider } from '../../src/payments/paypal.js';
import { createSquareProvider } from '../../src/payments/square.js';
import { createStripeProvider } from '../../src/payments/stripe.js';
import { PayPalEmulator } from '../emulators/paypal-emulator.js';
import { SquareEmulator } from '../emulators/square-emulator.js';
import { StripeEmulator } from '../emulators/stripe-emulator.js';
import type { HttpEmulator } from '../emulators/http-emulator.js';

/**
 * What the provider contract suite needs from one provider: its real SDK
 * provider pointed at its emulator, tokens that succeed or decline, and the
 * emulator's own count of money moved (the ground truth the tests assert on).
 */
export interface ProviderHarness {
  id: 'stripe' | 'square' | 'paypal';
  emulator: HttpEmulator;
  /** `METHOD /path` of the endpoints that move money, for fault injection. */
  chargePath: RegExp;
  refundPath: RegExp;
  capturePath: RegExp;
  voidPath: RegExp;
  provider(options?: ProviderOptions): PaymentProvider;
  /** A source that pays `amount` (PayPal: a fresh order the buyer approved for that amount). */
  goodSource(amount: number, currency: string): string;
  /** A source the provider declines, with the decline code we must report. */
  declinedSource(amount: number, currency: string): { source: string; declineCode: string };
  /** A source that can be authorized for a manual capture (PayPal: an order of intent AUTHORIZE). */
  authorizedSource(amount: number, currency: string): string;
  chargesFor(transactionId: string): number;
  /** What the provider says was captured of an authorization (by the charge's reference). */
  capturedAmount(reference: string): number;
  /** The authorization lapses at the provider. */
  expireAuthorization(reference: string): void;
  /** A refund made at the provider's dashboard, not through the API, of a captured payment; its provider id. */
  dashboardRefund(reference: string, amount: number): string;
  /** The customer disputes `amount` of a captured payment; the dispute's provider id. */
  openDispute(reference: string, amount: number): string;
  settleDispute(disputeId: string, outcome: 'won' | 'lost'): void;
  refundsOf(reference: string): number;
  /** How the provider answers new refunds from now on. */
  refundOutcome(outcome: 'succeeded' | 'pending' | 'failed'): void;
  /** Pending refunds complete at the provider. */
  settleRefunds(): void;
  /** The provider forgets idempotency keys (they expire: Stripe 24 h, PayPal hours). */
  forgetIdempotencyKeys(): void;
  close(): Promise<void>;
}

/**
 * Fast failure for tests: 0.4 s per attempt and one retry, after the SDKs' own backoff, so retries
 * are real. A hang costs about 1.3 s; an ordinary emulator answer (in-process, a few ms) stays far
 * inside it on a loaded machine.
 */
export const FAST: ProviderOptions = { timeoutMs: 400, maxRetries: 1 };

async function stripeHarness(): Promise<ProviderHarness> {
  const emulator = await new StripeEmulator().start();
  return {
    id: 'stripe',
    emulator,
    chargePath: /^POST \/v1\/payment_intents$/,
    refundPath: /^POST \/v1\/refunds$/,
    capturePath: /^POST \/v1\/payment_intents\/[^/]+\/capture$/,
    voidPath: /^POST \/v1\/payment_intents\/[^/]+\/cancel$/,
    provider: (options) =>
      createStripeProvider(
        { secretKey: emulator.secretKey, apiBase: emulator.url, webhookSecret: emulator.webhookSecret },
        options,
      ),
    goodSource: () => 'pm_card_visa',
    declinedSource: () => ({ source: 'pm_card_chargeDeclinedInsufficientFunds', declineCode: 'insufficient_funds' }),
    authorizedSource: () => 'pm_card_visa',
    chargesFor: (tx) => emulator.chargesFor(tx),
    capturedAmount: (ref) => emulator.capturedAmount(ref),
    expireAuthorization: (ref) => emulator.expireAuthorization(ref),
    dashboardRefund: (ref, amount) => emulator.dashboardRefund(ref, amount).refund.id,
    openDispute: (ref, amount) => emulator.openDispute(ref, amount).dispute.id,
    settleDispute: (id, outcome) => void emulator.settleDispute(id, outcome),
    refundsOf: (ref) => emulator.refundsFor(ref).length,
    refundOutcome: (o) => (emulator.refundStatus = o),
    settleRefunds: () => emulator.settleRefunds(),
    forgetIdempotencyKeys: () => emulator.forgetIdempotencyKeys(),
    close: () => emulator.close(),
  };
}

const UPPER = { succeeded: 'COMPLETED', pending: 'PENDING', failed: 'FAILED' } as const;

async function squareHarness(): Promise<ProviderHarness> {
  const emulator = await new SquareEmulator().start();
  return {
    id: 'square',
    emulator,
    chargePath: /^POST \/v2\/payments$/,
    refundPath: /^POST \/v2\/refunds$/,
    capturePath: /^POST \/v2\/payments\/[^/]+\/complete$/,
    voidPath: /^POST \/v2\/payments\/[^/]+\/cancel$/,
    provider: (options) => createSquareProvider(emulator.settings(), options),
    goodSource: () => 'cnon:card-nonce-ok',
    declinedSource: () => ({ source: 'cnon:card-nonce-declined', declineCode: 'generic_decline' }),
    authorizedSource: () => 'cnon:card-nonce-ok',
    chargesFor: (tx) => emulator.chargesFor(tx),
    capturedAmount: (ref) => emulator.capturedAmount(ref),
    expireAuthorization: (ref) => emulator.expireAuthorization(ref),
    dashboardRefund: (ref, amount) => emulator.dashboardRefund(ref, amount).refund.id,
    openDispute: (ref, amount) => emulator.openDispute(ref, amount).dispute.id,
    settleDispute: (id, outcome) => void emulator.settleDispute(id, outcome === 'won' ? 'WON' : 'LOST'),
    refundsOf: (ref) => emulator.refundsFor(ref).length,
    refundOutcome: (o) => (emulator.refundStatus = UPPER[o]),
    settleRefunds: () => emulator.settleRefunds(),
    forgetIdempotencyKeys: () => emulator.forgetIdempotencyKeys(),
    close: () => emulator.close(),
  };
}

async function paypalHarness(): Promise<ProviderHarness> {
  const emulator = await new PayPalEmulator().start();
  return {
    id: 'paypal',
    emulator,
    chargePath: /^POST \/v2\/checkout\/orders\/[^/]+\/capture$/,
    refundPath: /^POST \/v2\/payments\/captures\/[^/]+\/refund$/,
    capturePath: /^POST \/v2\/payments\/authorizations\/[^/]+\/capture$/,
    voidPath: /^POST \/v2\/payments\/authorizations\/[^/]+\/void$/,
    provider: (options) => createPayPalProvider(emulator.settings(), options),
    goodSource: (amount, currency) => emulator.approvedOrder(amount, currency),
    declinedSource: (amount, currency) => ({
      source: emulator.approvedOrder(amount, currency, { decline: true }),
      declineCode: 'instrument_declined',
    }),
    authorizedSource: (amount, currency) => emulator.approvedOrder(amount, currency, { intent: 'AUTHORIZE' }),
    chargesFor: (tx) => emulator.capturesFor(tx),
    capturedAmount: (ref) => emulator.capturedAmount(ref),
    expireAuthorization: (ref) => emulator.expireAuthorization(ref),
    dashboardRefund: (ref, amount) => emulator.dashboardRefund(ref, amount).refund.id,
    openDispute: (ref, amount) => emulator.openDispute(ref, amount).dispute.dispute_id,
    settleDispute: (id, outcome) =>
      void emulator.settleDispute(id, outcome === 'won' ? 'RESOLVED_SELLER_FAVOUR' : 'RESOLVED_BUYER_FAVOUR'),
    refundsOf: (ref) => emulator.refundsFor(ref).length,
    refundOutcome: (o) => (emulator.refundStatus = UPPER[o]),
    settleRefunds: () => emulator.settleRefunds(),
    forgetIdempotencyKeys: () => emulator.forgetIdempotencyKeys(),
    close: () => emulator.close(),
  };
}

export const HARNESSES = { stripe: stripeHarness, square: squareHarness, paypal: paypalHarness };
