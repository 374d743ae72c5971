import { PaymentDeclinedError, PaymentProviderError, type PaymentProvider } from './provider.js';

/**
 * The built-in provider: no network, outcomes chosen by the token (named after
 * Stripe's test cards). It is stateless, so `retrieve` answers from the token,
 * which is what lets the reconciler recover a sandbox charge after a crash.
 */
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
};

export function createSandboxProvider(): PaymentProvider {
  return {
    id: 'sandbox',
    async charge({ transactionId, source }) {
      const decline = DECLINES[source];
      if (decline) throw new PaymentDeclinedError('Your card was declined.', decline);
      if (source === 'pm_card_providerUnavailable') throw new PaymentProviderError('sandbox: provider unavailable');
      if (source !== 'pm_card_visa') throw new PaymentDeclinedError('Unknown sandbox payment token.', 'invalid_source');
      return { reference: `sb_ch_${transactionId}` };
    },
    async refund({ refundId }) {
      return { status: 'succeeded', reference: `sb_re_${refundId}` };
    },
    async retrieve({ transactionId, source }) {
      if (source === 'pm_card_visa') return { status: 'succeeded', reference: `sb_ch_${transactionId}` };
      return { status: 'failed', declineCode: DECLINES[source] };
    },
  };
}
