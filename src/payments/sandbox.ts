import { PaymentDeclinedError, PaymentProviderError, type PaymentProvider, type ProviderRefund, type RetrieveResult } from './provider.js';

/**
 * The built-in provider: no network, outcomes chosen by the token (named after
 * Stripe's test cards). `pm_card_captureDeclined` authorizes, but its capture
 * is refused as `authorization_expired` (so an immediate charge with it is
 * declined with that code).
 *
 * What happened to a payment after its charge (captures, voids, refunds) is
 * kept in memory, shared by every sandbox provider of the process as a real
 * provider's account would be. The reference alone says what the charge was
 * (captured or authorized, capturable or not), so after a restart, when that
 * memory is gone, `retrieve` still answers from the reference or the token and
 * later calls are accepted as they would have been: that is what lets the
 * reconciler recover a sandbox payment after a crash. Limits a restarted
 * sandbox cannot know (how much was authorized) are then not checked.
 */
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
};
const CAPTURE_DECLINED = 'pm_card_captureDeclined';
const EXPIRED = 'authorization_expired';

/** Captured at charge time, as today. */
const CHARGED = 'sb_ch_';
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
}

const payments = new Map<string, SandboxPayment>();

function remember(reference: string, payment: SandboxPayment): SandboxPayment {
  payments.set(reference, payment);
  if (payments.size > MAX_PAYMENTS) payments.delete(payments.keys().next().value!);
  return payment;
}

/** The payment as the reference describes it, for one this process has not seen (made before a restart). */
function recalled(reference: string): SandboxPayment | null {
  const known = payments.get(reference);
  if (known) return known;
  const base = { amount: Infinity, currency: null, captures: new Map(), refunds: new Map() };
  if (reference.startsWith(CHARGED)) return remember(reference, { ...base, state: 'captured', capturable: false });
  if (reference.startsWith(AUTHORIZED)) return remember(reference, { ...base, state: 'authorized', capturable: !reference.startsWith(AUTHORIZED_UNCAPTURABLE) });
  return null;
}

function authorizedReference(transactionId: string, source: string): string {
  return (source === CAPTURE_DECLINED ? AUTHORIZED_UNCAPTURABLE : AUTHORIZED) + transactionId;
}

function refunded(p: SandboxPayment): number {
  return [...p.refunds.values()].filter((r) => r.status !== 'failed').reduce((sum, r) => sum + r.amount, 0);
}

export function createSandboxProvider(): PaymentProvider {
  return {
    id: 'sandbox',

    async charge({ transactionId, source, amount, currency, capture }) {
      const decline = DECLINES[source];
      if (decline) throw new PaymentDeclinedError('Your card was declined.', decline);
      if (source === 'pm_card_providerUnavailable') throw new PaymentProviderError('sandbox: provider unavailable');
      if (source !== 'pm_card_visa' && source !== CAPTURE_DECLINED) throw new PaymentDeclinedError('Unknown sandbox payment token.', 'invalid_source');
      if (capture === 'immediate') {
        if (source === CAPTURE_DECLINED) throw new PaymentDeclinedError('The capture was declined.', EXPIRED);
        const reference = CHARGED + transactionId;
        if (!payments.has(reference)) remember(reference, { state: 'captured', amount, currency, capturable: false, captures: new Map(), refunds: new Map() });
        return { reference, captured: true, authorizationExpiresAt: null };
      }
      const reference = authorizedReference(transactionId, source);
      // Charging the same transaction again is a retry: it finds the payment, whatever happened to it since.
      if (!payments.has(reference)) {
        remember(reference, { state: 'authorized', amount, currency, capturable: source !== CAPTURE_DECLINED, captures: new Map(), refunds: new Map() });
      }
      // The sandbox does not say when its authorizations lapse: the caller's default applies.
      return { reference, captured: false, authorizationExpiresAt: null };
    },

    async capture({ captureId, reference, amount, currency }) {
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
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > p.amount) refuse('amount_too_large', 'The capture is more than was authorized.');
      if (p.currency && p.currency !== currency) refuse('currency_mismatch', `The authorization is in ${p.currency}.`);
      Object.assign(p, { state: 'captured', amount, currency });
      const result = { reference };
      p.captures.set(captureId, result);
      return result;
    },

    async void({ reference }) {
      const p = recalled(reference);
      if (!p) throw new PaymentProviderError(`sandbox: no payment ${reference}`);
      if (p.state === 'captured') throw new PaymentDeclinedError('The payment was already captured.', 'already_captured');
      p.state = 'voided';
    },

    async refund({ refundId, reference, amount, currency }) {
      const p = recalled(reference);
      if (!p) throw new PaymentProviderError(`sandbox: no payment ${reference}`);
      const done = p.refunds.get(refundId);
      if (done) return { status: 'succeeded', reference: done.reference };
      if (p.state !== 'captured') throw new PaymentProviderError(`sandbox: payment ${reference} is not captured`);
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > p.amount - refunded(p)) {
        throw new PaymentProviderError(`sandbox: refund of ${amount} exceeds what is left of payment ${reference}`);
      }
      const refund: ProviderRefund = { reference: `sb_re_${refundId}`, amount, currency, status: 'succeeded', refundId };
      p.refunds.set(refundId, refund);
      return { status: 'succeeded', reference: refund.reference };
    },

    async retrieve({ transactionId, reference, source, capture = 'immediate' }) {
      const ref = reference ?? (capture === 'manual' ? authorizedReference(transactionId, source) : CHARGED + transactionId);
      const p = payments.get(ref);
      if (p) return stateOf(ref, p);
      if (reference) {
        const recalledPayment = recalled(reference);
        if (recalledPayment) return stateOf(reference, recalledPayment);
      }
      if (source === 'pm_card_visa') return capture === 'manual' ? { status: 'authorized', reference: ref, authorizationExpiresAt: null } : { status: 'succeeded', reference: ref };
      if (source === CAPTURE_DECLINED)
        return capture === 'manual' ? { status: 'authorized', reference: ref, authorizationExpiresAt: null } : { status: 'failed', declineCode: EXPIRED };
      return { status: 'failed', declineCode: DECLINES[source] };
    },

    async refunds({ reference }) {
      return [...(payments.get(reference)?.refunds.values() ?? [])].map((r) => ({ ...r }));
    },

    // Nobody disputes a sandbox payment.
    async disputes() {
      return [];
    },
  };
}

function stateOf(reference: string, p: SandboxPayment): RetrieveResult {
  if (p.state === 'captured') return { status: 'succeeded', reference };
  if (p.state === 'voided') return { status: 'voided', reference, expired: false };
  return { status: 'authorized', reference, authorizationExpiresAt: null };
}
