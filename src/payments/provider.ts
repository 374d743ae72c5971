import type { CaptureMode, ProviderId } from '../domain/payment.js';

/**
 * One interface for every payment provider (Medusa's IPaymentProvider shape):
 * one input in, one result out, and failures thrown as the errors below.
 *
 * Every call that moves money carries our own id of that movement (transaction,
 * capture, void or refund id); a provider derives its idempotency key from it,
 * so a retry (ours, the reconciler's or the SDK's) never moves money twice.
 */
/**
 * How one charge call takes the money: `immediate` captures it, `manual` only authorizes it. The
 * service's choice of when to capture is the domain's `CaptureMode` (PAYMENT_CAPTURE); this is what it asks of a provider.
 */
export type ChargeCapture = 'immediate' | 'manual';

/** What a charge under the service's capture mode asks of the provider: capture at shipment is a manual capture. */
export const chargeCaptureFor = (mode: CaptureMode | undefined): ChargeCapture =>
  mode === 'shipment' ? 'manual' : 'immediate';

export interface ChargeInput {
  transactionId: string;
  amount: number; // minor units
  currency: string; // ISO 4217, upper case
  source: string; // the provider's token (PaymentMethod id, Square source id, approved PayPal order id, sandbox token)
  customerId: string;
  description: string;
  /** `manual` only authorizes: the money is taken later by `capture`, or released by `void`. */
  capture: ChargeCapture;
  /**
   * Where the provider sends the customer back after completing the payment (3-D Secure, a redirect,
   * an approval). Without it a payment that needs the customer is declined (`authentication_required`);
   * with it the provider may answer with an `action` instead of taking the money now.
   */
  returnUrl?: string | null;
}

/**
 * What the customer must do before the payment can complete. Nothing has been taken yet: the outcome
 * comes later, from `completeAction` (asked by the webhook, the customer's return or the reconciler).
 */
export interface PaymentAction {
  /** Where to send the customer, when the provider has one page for it. */
  url: string | null;
  /** For the provider's own browser library (Stripe's PaymentIntent client secret). */
  clientSecret: string | null;
  /** Anything else the provider's browser library needs (Adyen's `action` object). */
  providerData: Record<string, unknown> | null;
  /** The provider's own expiry of the payment, where it names one (Mollie `expiresAt`); the order waits until the later of this and PAYMENT_ACTION_TIMEOUT_SECONDS. */
  expiresAt: Date | null;
}

export interface ChargeResult {
  /**
   * The provider's id of the payment: captured (PaymentIntent, Square payment, PayPal capture), or
   * for a manual charge the authorization (PaymentIntent, Square payment, PayPal authorization).
   */
  reference: string;
  captured: boolean;
  /**
   * When an authorization stops being capturable, where the provider says (Stripe
   * `capture_before`, Square `delayed_until`, PayPal `expiration_time`); null when captured or when
   * the provider does not say (the caller then assumes its own default).
   */
  authorizationExpiresAt: Date | null;
  /**
   * Present when the payment waits for its customer (only ever with a `returnUrl`): `reference` is
   * then the provider's id of the pending payment (PaymentIntent, PayPal order, Adyen pspReference,
   * Mollie payment), `captured` false, and nothing is taken yet.
   */
  action?: PaymentAction;
}

export interface CaptureInput {
  transactionId: string;
  /** Our id of this capture; the idempotency key is derived from it. */
  captureId: string;
  /** The authorization's reference, from `charge`. */
  reference: string;
  /** At most what was authorized; the rest of the authorization is released. */
  amount: number;
  currency: string;
}

export interface CaptureResult {
  /** The captured payment's id, which refunds name: PayPal's capture id; Stripe and Square keep the payment id. */
  reference: string;
  /**
   * The provider took the request and tells the outcome later (Adyen: its CAPTURE notification);
   * `reference` is then the request's own id. Absent or false: captured now.
   */
  pending?: boolean;
}

/** What a void answered: nothing when released now; `pending` when the provider tells later (Adyen's CANCELLATION notification). */
export type VoidResult = { pending: true } | undefined;

export interface VoidInput {
  transactionId: string;
  /** Our id of this void; the idempotency key is derived from it. */
  voidId: string;
  reference: string;
}

export interface RefundInput {
  transactionId: string;
  /** Distinguishes refunds of one payment; the idempotency key is derived from it. */
  refundId: string;
  /** The captured payment's reference (PayPal: the capture id). */
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
  /** How the charge was made; only a provider that keeps no state (the sandbox) needs it. Default `immediate`. */
  capture?: ChargeCapture;
}

/** What the provider says happened to a charge we may or may not have made. */
export type RetrieveResult =
  /** Captured; `reference` is the captured payment's (PayPal: the capture id). */
  | { status: 'succeeded'; reference: string }
  /** Authorized and not captured yet. */
  | { status: 'authorized'; reference: string; authorizationExpiresAt: Date | null }
  /** The authorization was released (voided, or `expired` at the provider); nothing was captured. */
  | { status: 'voided'; reference: string; expired: boolean }
  | { status: 'failed'; declineCode?: string }
  | { status: 'not_found' }
  | { status: 'processing' };

/** One refund of a payment as the provider records it, whoever asked for it (us or its dashboard). */
export interface ProviderRefund {
  reference: string;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** Our refund id when the refund was ours and the provider kept it; null for one made elsewhere. */
  refundId: string | null;
}

export interface ProviderDispute {
  reference: string;
  /** What the customer disputes, in minor units. */
  amount: number;
  currency: string;
  status: 'open' | 'won' | 'lost';
}

export interface PaymentQuery {
  /** The captured payment's reference (PayPal: the capture id). */
  reference: string;
  currency: string;
}

/** A payment that waited for its customer, as `completeAction` and `cancelAction` name it. */
export interface ActionInput {
  transactionId: string;
  /** The pending payment's reference, from `charge`'s result. */
  reference: string;
  amount: number;
  currency: string;
  capture: ChargeCapture;
  /** What the customer's return carried for the provider (Adyen's `redirectResult`); null by the other roads. */
  redirectResult: string | null;
}

export interface PaymentProvider {
  readonly id: ProviderId;
  /** Throws PaymentDeclinedError, PaymentProviderError, PaymentAmountMismatchError or PaymentIntentMismatchError. */
  charge(input: ChargeInput): Promise<ChargeResult>;
  /** Refused (expired, voided, more than authorized): PaymentDeclinedError with the reason as its code. */
  capture(input: CaptureInput): Promise<CaptureResult>;
  /** Releasing what is already released succeeds; an authorization already captured is PaymentDeclinedError. */
  void(input: VoidInput): Promise<VoidResult | void>;
  refund(input: RefundInput): Promise<RefundResult>;
  retrieve(input: RetrieveInput): Promise<RetrieveResult>;
  /** The provider's truth about every refund of a payment, oldest first; amounts come from here, never from a webhook. */
  refunds(input: PaymentQuery): Promise<ProviderRefund[]>;
  disputes(input: PaymentQuery): Promise<ProviderDispute[]>;
  /**
   * The truth about a payment that waited for its customer, finishing it where the provider needs
   * one more call once the customer has acted (PayPal's capture or authorize of the approved order;
   * Adyen's `/payments/details` with the `redirectResult`), with a key derived from the transaction so
   * that every road (webhook, return, reconciler) makes the same call and the provider moves the
   * money once. `processing` while the customer has not finished. Absent: `retrieve` answers.
   */
  completeAction?(input: ActionInput): Promise<RetrieveResult>;
  /**
   * Cancels a payment still waiting for its customer (Stripe: the intent, `abandoned`), so that it
   * can no longer take money. `cancelled` when it is cancelled (or was already); `not_cancelled`
   * when the provider cannot cancel it or it moved on (then it is asked again). Absent: nothing can
   * be cancelled, and money that still arrives is refunded.
   */
  cancelAction?(input: ActionInput): Promise<'cancelled' | 'not_cancelled'>;
  /**
   * Only for a provider that cannot be asked how a charge stands (Adyen: no lookup, its notifications
   * are the only account): stops a charge whose outcome never came, by our transaction id, so that it
   * can no longer take money; the provider's notification of that cancel then settles the charge.
   * The reconciler calls it for a charge still `processing` past RECONCILE_UNANSWERED_CHARGE_MS, again at each
   * look until the notification comes (same key). Absent: the provider is asked (`retrieve`).
   */
  cancelUnanswered?(input: ActionInput): Promise<void>;
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
 * The approved payment was made for the other capture mode (a PayPal order of intent CAPTURE when
 * we only authorize, or AUTHORIZE when we capture at once): 422. Nothing was taken.
 */
export class PaymentIntentMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaymentIntentMismatchError';
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
