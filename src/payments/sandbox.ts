import {
  PaymentDeclinedError,
  PaymentProviderError,
  type PaymentProvider,
  type ProviderRefund,
  type RetrieveResult,
} from './provider.js';

/**
 * The built-in provider: no network, outcomes chosen by the token (named after
 * Stripe's test cards). `pm_card_captureDeclined` authorizes, but its capture
 * is refused as `authorization_expired` (so an immediate charge with it is
 * declined with that code).
 *
 * What happened to a payment after its charge (captures, voids, refunds) is
 * kept in memory, shared by every sandbox provider of the process as a real
 * provider's account would be. The reference alone says what the charge was
 * (captured or authorized, capturable or not; a capture's, that it was
 * captured), so in another process or after a restart, when that
 * memory is gone, `retrieve` still answers from the reference or the token and
 * later calls are accepted as they would have been: that is what lets the
 * reconciler recover a sandbox payment after a crash. Limits a restarted
 * sandbox cannot know (how much was authorized, whether another process
 * captured an authorization) are then not checked.
 */
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
};
const CAPTURE_DECLINED = 'pm_card_captureDeclined';
const EXPIRED = 'authorization_expired';
/** Needs the customer: 3-D Secure on the page the service serves (http/routes/sandbox). */
const THREE_DS = 'pm_card_threeDSecureRequired';

/** Captured at charge time, as today. */
const CHARGED = 'sb_ch_';
/** An authorization captured later: the capture's reference, which refunds are made against. */
const CAPTURED = 'sb_cp_';
/** Authorized only; the second form cannot be captured. */
const AUTHORIZED = 'sb_au_';
const AUTHORIZED_UNCAPTURABLE = 'sb_au_cd_';

/** Enough for any test run or development session; the oldest payments are forgotten first. */
const MAX_PAYMENTS = 50_000;

interface SandboxPayment {
  state: 'authorized' | 'captured' | 'voided';
  /** What may still be captured (authorized) or refunded (captured); Infinity when a restart forgot it. */
  amount: number;
  currency: string | null;
  capturable: boolean;
  captures: Map<string, { reference: string } | { declineCode: string }>;
  refunds: Map<string, ProviderRefund>;
  /** Recalled from its reference alone (this process never saw it): what another process did to it is unknown. */
  forgotten?: boolean;
}

const payments = new Map<string, SandboxPayment>();

/**
 * A payment waiting for its customer on the sandbox's page, by transaction id. Its reference names
 * a charge (`sb_ch_3ds_…`) or an authorization (`sb_au_3ds_…`) as any other sandbox payment does,
 * and becomes that payment when the customer completes.
 */
interface SandboxAction {
  state: 'waiting' | 'completed' | 'failed' | 'cancelled';
  reference: string;
  returnUrl: string;
  amount: number;
  currency: string;
}

const actions = new Map<string, SandboxAction>();
const THREE_DS_MARK = '3ds_';

function remember(reference: string, payment: SandboxPayment): SandboxPayment {
  payments.set(reference, payment);
  if (payments.size > MAX_PAYMENTS) payments.delete(payments.keys().next().value!);
  return payment;
}

/** The payment as the reference describes it, for one this process has not seen (made before a restart). */
function recalled(reference: string): SandboxPayment | null {
  const known = payments.get(reference);
  if (known) return known;
  const base = { amount: Infinity, currency: null, captures: new Map(), refunds: new Map(), forgotten: true };
  if (reference.startsWith(CHARGED) || reference.startsWith(CAPTURED))
    return remember(reference, { ...base, state: 'captured', capturable: false });
  if (reference.startsWith(AUTHORIZED))
    return remember(reference, {
      ...base,
      state: 'authorized',
      capturable: !reference.startsWith(AUTHORIZED_UNCAPTURABLE),
    });
  return null;
}

function authorizedReference(transactionId: string, source: string): string {
  return (source === CAPTURE_DECLINED ? AUTHORIZED_UNCAPTURABLE : AUTHORIZED) + transactionId;
}

function refunded(p: SandboxPayment): number {
  return [...p.refunds.values()].filter((r) => r.status !== 'failed').reduce((sum, r) => sum + r.amount, 0);
}

/** What the sandbox's page shows: the payment while it waits for its customer, else undefined (404). */
export function sandboxActionPage(
  transactionId: string,
): Pick<SandboxAction, 'amount' | 'currency' | 'returnUrl'> | undefined {
  const a = actions.get(transactionId);
  return a?.state === 'waiting' ? a : undefined;
}

/**
 * The customer's answer on the sandbox's page: the payment completes (captured, or authorized when
 * it was charged for shipment mode) or fails. Returns where to send the customer back, or undefined
 * when the payment is unknown or no longer waiting.
 */
export function authenticateSandboxAction(transactionId: string, outcome: 'complete' | 'fail'): string | undefined {
  const a = actions.get(transactionId);
  if (a?.state !== 'waiting') return undefined;
  if (outcome === 'fail') {
    a.state = 'failed';
    return a.returnUrl;
  }
  a.state = 'completed';
  const authorizedOnly = a.reference.startsWith(AUTHORIZED);
  remember(a.reference, {
    state: authorizedOnly ? 'authorized' : 'captured',
    amount: a.amount,
    currency: a.currency,
    capturable: true,
    captures: new Map(),
    refunds: new Map(),
  });
  return a.returnUrl;
}

/** The state of a payment that waited for its customer; after a restart (memory gone) nobody can complete it any more. */
function actionState(transactionId: string, reference: string): RetrieveResult {
  const a = actions.get(transactionId);
  if (!a) return { status: 'not_found' };
  if (a.state === 'waiting') return { status: 'processing' };
  if (a.state === 'failed') return { status: 'failed', declineCode: 'authentication_failed' };
  if (a.state === 'cancelled') return { status: 'failed', declineCode: 'payment_cancelled' };
  return stateOf(reference, payments.get(reference)!);
}

export function createSandboxProvider(options: { publicBaseUrl?: string } = {}): PaymentProvider {
  const base = (options.publicBaseUrl ?? 'http://localhost:8000').replace(/\/+$/, '');
  return {
    id: 'sandbox',

    async charge({ transactionId, source, amount, currency, capture, returnUrl }) {
      if (source === THREE_DS) {
        if (!returnUrl)
          throw new PaymentDeclinedError(
            'The card needs 3-D Secure and no return URL was given.',
            'authentication_required',
          );
        const reference = (capture === 'immediate' ? CHARGED : AUTHORIZED) + THREE_DS_MARK + transactionId;
        // Charging the same transaction again is a retry: the same waiting payment.
        if (!actions.has(transactionId)) {
          actions.set(transactionId, { state: 'waiting', reference, returnUrl, amount, currency });
          if (actions.size > MAX_PAYMENTS) actions.delete(actions.keys().next().value!);
        }
        return {
          reference,
          captured: false,
          authorizationExpiresAt: null,
          action: {
            url: `${base}/sandbox/authenticate/${transactionId}`,
            clientSecret: null,
            providerData: null,
            expiresAt: null,
          },
        };
      }
      const decline = DECLINES[source];
      if (decline) throw new PaymentDeclinedError('Your card was declined.', decline);
      if (source === 'pm_card_providerUnavailable') throw new PaymentProviderError('sandbox: provider unavailable');
      if (source !== 'pm_card_visa' && source !== CAPTURE_DECLINED)
        throw new PaymentDeclinedError('Unknown sandbox payment token.', 'invalid_source');
      if (capture === 'immediate') {
        if (source === CAPTURE_DECLINED) throw new PaymentDeclinedError('The capture was declined.', EXPIRED);
        const reference = CHARGED + transactionId;
        if (!payments.has(reference))
          remember(reference, {
            state: 'captured',
            amount,
            currency,
            capturable: false,
            captures: new Map(),
            refunds: new Map(),
          });
        return { reference, captured: true, authorizationExpiresAt: null };
      }
      const reference = authorizedReference(transactionId, source);
      // Charging the same transaction again is a retry: it finds the payment, whatever happened to it since.
      if (!payments.has(reference)) {
        remember(reference, {
          state: 'authorized',
          amount,
          currency,
          capturable: source !== CAPTURE_DECLINED,
          captures: new Map(),
          refunds: new Map(),
        });
      }
      // The sandbox does not say when its authorizations lapse: the caller's default applies.
      return { reference, captured: false, authorizationExpiresAt: null };
    },

    async capture({ transactionId, captureId, reference, amount, currency }) {
      const p = recalled(reference);
      if (!p) throw new PaymentProviderError(`sandbox: no payment ${reference}`);
      const done = p.captures.get(captureId);
      if (done && 'reference' in done) return done;
      if (done) throw new PaymentDeclinedError('The capture was declined.', done.declineCode);
      const refuse = (declineCode: string, message: string): never => {
        p.captures.set(captureId, { declineCode });
        throw new PaymentDeclinedError(message, declineCode);
      };
      if (p.state === 'voided') refuse('authorization_voided', 'The authorization was voided.');
      if (p.state === 'captured') refuse('already_captured', 'The payment was already captured.');
      if (!p.capturable) refuse(EXPIRED, 'The authorization expired.');
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > p.amount)
        refuse('amount_too_large', 'The capture is more than was authorized.');
      if (p.currency && p.currency !== currency) refuse('currency_mismatch', `The authorization is in ${p.currency}.`);
      Object.assign(p, { state: 'captured', amount, currency });
      // Its own reference says "captured": a process that never saw this capture (the neighbour
      // instance, or this one after a restart) still takes refunds made against it.
      const result = { reference: CAPTURED + transactionId };
      remember(result.reference, p);
      p.captures.set(captureId, result);
      return result;
    },

    async void({ reference }) {
      const p = recalled(reference);
      if (!p) throw new PaymentProviderError(`sandbox: no payment ${reference}`);
      if (p.state === 'captured')
        throw new PaymentDeclinedError('The payment was already captured.', 'already_captured');
      p.state = 'voided';
    },

    async refund({ refundId, reference, amount, currency }) {
      const p = recalled(reference);
      if (!p) throw new PaymentProviderError(`sandbox: no payment ${reference}`);
      const done = p.refunds.get(refundId);
      if (done) return { status: 'succeeded', reference: done.reference };
      // An authorization this process only recalls may have been captured by another (the instance that
      // shipped the order, since restarted, or its neighbour): it cannot know, and takes the refund.
      const capturedElsewhere = p.forgotten && p.state === 'authorized' && p.capturable;
      if (p.state !== 'captured' && !capturedElsewhere)
        throw new PaymentProviderError(`sandbox: payment ${reference} is not captured`);
      if (capturedElsewhere) p.state = 'captured';
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > p.amount - refunded(p)) {
        throw new PaymentProviderError(`sandbox: refund of ${amount} exceeds what is left of payment ${reference}`);
      }
      const refund: ProviderRefund = {
        reference: `sb_re_${refundId}`,
        amount,
        currency,
        status: 'succeeded',
        refundId,
      };
      p.refunds.set(refundId, refund);
      return { status: 'succeeded', reference: refund.reference };
    },

    async retrieve({ transactionId, reference, source, capture = 'immediate' }) {
      if (source === THREE_DS) return actionState(transactionId, reference ?? '');
      const ref =
        reference ?? (capture === 'manual' ? authorizedReference(transactionId, source) : CHARGED + transactionId);
      const p = payments.get(ref);
      if (p) return stateOf(ref, p);
      if (reference) {
        const recalledPayment = recalled(reference);
        if (recalledPayment) return stateOf(reference, recalledPayment);
      }
      if (source === 'pm_card_visa')
        return capture === 'manual'
          ? { status: 'authorized', reference: ref, authorizationExpiresAt: null }
          : { status: 'succeeded', reference: ref };
      if (source === CAPTURE_DECLINED)
        return capture === 'manual'
          ? { status: 'authorized', reference: ref, authorizationExpiresAt: null }
          : { status: 'failed', declineCode: EXPIRED };
      return { status: 'failed', declineCode: DECLINES[source] };
    },

    async refunds({ reference }) {
      return [...(payments.get(reference)?.refunds.values() ?? [])].map((r) => ({ ...r }));
    },

    // Nobody disputes a sandbox payment.
    async disputes() {
      return [];
    },

    async completeAction({ transactionId, reference }) {
      return actionState(transactionId, reference);
    },

    async cancelAction({ transactionId }) {
      const a = actions.get(transactionId);
      // Forgotten (a restart): its page is gone, so nobody can complete it any more.
      if (!a) return 'cancelled';
      if (a.state === 'waiting') a.state = 'cancelled';
      return a.state === 'cancelled' || a.state === 'failed' ? 'cancelled' : 'not_cancelled';
    },
  };
}

function stateOf(reference: string, p: SandboxPayment): RetrieveResult {
  if (p.state === 'captured') return { status: 'succeeded', reference };
  if (p.state === 'voided') return { status: 'voided', reference, expired: false };
  return { status: 'authorized', reference, authorizationExpiresAt: null };
}
