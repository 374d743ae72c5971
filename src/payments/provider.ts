import type { ProviderId } from '../domain/payment.js';

/**
 * One interface for every payment provider (Medusa's IPaymentProvider shape):
 * one input in, one result out, and failures thrown as the two errors below.
 *
 * Every call carries our transaction id; a provider derives its idempotency key
 * from it, so a retry (ours, the reconciler's or the SDK's) never charges or
 * refunds twice.
 */
export interface ChargeInput {
  transactionId: string;
  amount: number; // minor units
  currency: string; // ISO 4217, upper case
  source: string; // the provider's token (PaymentMethod id, Square source id, approved PayPal order id, sandbox token)
  customerId: string;
  description: string;
}

export interface ChargeResult {
  /** The provider's id for the captured payment (PaymentIntent, Square payment, PayPal capture). */
  reference: string;
}

export interface RefundInput {
  transactionId: string;
  /** Distinguishes refunds of one payment; the idempotency key is derived from it. */
  refundId: string;
  reference: string;
  amount: number;
  currency: string;
}

export interface RefundResult {
  status: 'succeeded' | 'pending';
  reference: string;
}

export interface RetrieveInput {
  transactionId: string;
  reference: string | null;
  source: string;
  amount: number;
  currency: string;
}

/** What the provider says happened to a charge we may or may not have made. */
export type RetrieveResult =
  | { status: 'succeeded'; reference: string }
  | { status: 'failed'; declineCode?: string }
  | { status: 'not_found' }
  | { status: 'processing' };

export interface PaymentProvider {
  readonly id: ProviderId;
  charge(input: ChargeInput): Promise<ChargeResult>;
  refund(input: RefundInput): Promise<RefundResult>;
  retrieve(input: RetrieveInput): Promise<RetrieveResult>;
}

/** The provider refused the payment: 402 `payment_declined`. Nothing was taken. */
export class PaymentDeclinedError extends Error {
  constructor(
    message: string,
    readonly declineCode?: string,
  ) {
    super(message);
    this.name = 'PaymentDeclinedError';
  }
}

/** The provider said the approved payment does not match the order (PayPal amount/currency): 422. */
export class PaymentAmountMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaymentAmountMismatchError';
  }
}

/**
 * The provider failed, timed out or could not be reached: 502. Whether money
 * moved is unknown, so the caller leaves the transaction for reconciliation.
 */
export class PaymentProviderError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PaymentProviderError';
  }
}

/**
 * The provider answered that a refund failed for good (card closed, refund
 * rejected): retrying with the same refund id returns the same failure, so the
 * caller stops retrying and someone must look at it. A PaymentProviderError,
 * so code that only knows the three errors above still treats it as a failure.
 */
export class RefundFailedError extends PaymentProviderError {
  constructor(
    message: string,
    readonly refundReference?: string,
  ) {
    super(message);
    this.name = 'RefundFailedError';
  }
}
