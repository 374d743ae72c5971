import type { Types } from '@adyen/api-library';
import { createHash } from 'node:crypto';
import { createAdyenCheckout, type AdyenSettings } from './adyen-client.js';
import { adyenCall, declineCodeOf } from './adyen-errors.js';
import { cancelKey, captureKey, chargeKey, refundKey, voidKey } from './idempotency.js';
import type { ProviderOptions } from './options.js';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  type ChargeCapture,
  type PaymentProvider,
  type RetrieveResult,
} from './provider.js';

/**
 * Adyen's Checkout API (v72) through `@adyen/api-library`. `reference` is our transaction id (and,
 * on a capture, cancel or refund, our ledger row's id, which Adyen's notification names again as
 * `merchantReference`); every call carries an `Idempotency-Key` derived from that id (Adyen keeps
 * keys for at least 7 days and caps them at 64 characters).
 *
 * `source` is the `paymentMethod` object Adyen's web components give, as JSON; we pass it on as it
 * is. Immediate mode asks Adyen to capture at once (`captureDelayHours: 0`), so an `Authorised`
 * payment counts as captured; shipment mode authorizes with manual capture.
 *
 * Modifications are asynchronous at Adyen: /captures, /cancels and /refunds answer `received`, and
 * the outcome comes in the CAPTURE, CANCELLATION or REFUND notification (application/
 * adyen-notification.ts). So capture and void answer `pending`, refund `pending`, and the ledger row
 * waits for the notification; asked again (the reconciler), the same key gets the same `received`.
 *
 * Adyen has no API to look a payment up, nor to list its refunds or chargebacks: the signed
 * notifications are the only account of them, and the service acts on those directly. `retrieve`
 * therefore says `processing` (the AUTHORISATION notification settles the charge), and
 * `refunds`/`disputes` are never asked of Adyen.
 */
const KEY_LIMIT = 64;

export function createAdyenProvider(
  settings: AdyenSettings,
  options: ProviderOptions & { returnUrl?: string } = {},
): PaymentProvider {
  const checkout = createAdyenCheckout(settings, options);
  const merchantAccount = settings.merchantAccount;
  const amountOf = (value: number, currency: string): Types.checkout.Amount => ({ value, currency });
  const cancelByReference = async (transactionId: string): Promise<void> => {
    await adyenCall(() =>
      checkout.ModificationsApi.cancelAuthorisedPayment(
        { merchantAccount, paymentReference: transactionId, reference: cancelReference(transactionId) },
        { idempotencyKey: cancelKey(transactionId, KEY_LIMIT) },
      ),
    );
  };

  return {
    id: 'adyen',

    async charge({ transactionId, amount, currency, source, customerId, description, capture, returnUrl }) {
      const manual = capture === 'manual';
      const request: Types.checkout.PaymentRequest = {
        merchantAccount,
        amount: amountOf(amount, currency),
        reference: transactionId,
        paymentMethod: paymentMethodOf(source),
        // Adyen wants a returnUrl on every payment; without the client's, a payment that would use it is declined below.
        returnUrl: returnUrl ?? options.returnUrl ?? 'https://localhost/',
        shopperReference: customerId,
        shopperStatement: description.slice(0, 22),
        ...(manual ? { additionalData: { manualCapture: 'true' } } : { captureDelayHours: 0 }),
      };
      const res = await adyenCall(() =>
        checkout.PaymentsApi.payments(request, { idempotencyKey: chargeKey(transactionId, KEY_LIMIT) }),
      );
      const pspReference = res.pspReference;
      switch (res.resultCode) {
        case 'Authorised':
          if (!pspReference) throw new PaymentProviderError('adyen: Authorised without a pspReference');
          return { reference: pspReference, captured: !manual, authorizationExpiresAt: null };
        case 'Refused':
        case 'Cancelled':
        case 'Error':
          throw new PaymentDeclinedError(
            res.refusalReason ?? `The payment was ${res.resultCode.toLowerCase()}.`,
            declineCodeOf(res.refusalReason, res.resultCode.toLowerCase()),
          );
        case 'RedirectShopper':
        case 'IdentifyShopper':
        case 'ChallengeShopper':
        case 'PresentToShopper':
          if (!returnUrl || !res.action)
            throw new PaymentDeclinedError(
              'The payment needs the customer (3-D Secure or a redirect).',
              'authentication_required',
            );
          return {
            // Adyen names the payment in the action answer; an older answer without it is named by our reference until AUTHORISATION does.
            reference: pspReference ?? transactionId,
            captured: false,
            authorizationExpiresAt: null,
            action: {
              url: actionUrl(res.action),
              clientSecret: null,
              providerData: { ...res.action } as Record<string, unknown>,
              expiresAt: null,
            },
          };
        default:
          // Pending, Received (and anything newer): Adyen decides later and says so in AUTHORISATION.
          throw new PaymentProviderError(
            `adyen: payment ${pspReference ?? transactionId} is ${res.resultCode ?? 'without a resultCode'}; its AUTHORISATION notification settles it`,
          );
      }
    },

    async capture({ captureId, reference, amount, currency }) {
      const res = await adyenCall(() =>
        checkout.ModificationsApi.captureAuthorisedPayment(
          reference,
          { merchantAccount, amount: amountOf(amount, currency), reference: captureId },
          { idempotencyKey: captureKey(captureId, KEY_LIMIT) },
        ),
      );
      return { reference: res.pspReference, pending: true };
    },

    async void({ voidId, reference }) {
      await adyenCall(() =>
        checkout.ModificationsApi.cancelAuthorisedPaymentByPspReference(
          reference,
          { merchantAccount, reference: voidId },
          { idempotencyKey: voidKey(voidId, KEY_LIMIT) },
        ),
      );
      return { pending: true };
    },

    async refund({ refundId, reference, amount, currency }) {
      const res = await adyenCall(() =>
        checkout.ModificationsApi.refundCapturedPayment(
          reference,
          { merchantAccount, amount: amountOf(amount, currency), reference: refundId },
          { idempotencyKey: refundKey(refundId, KEY_LIMIT) },
        ),
      );
      return { status: 'pending', reference: res.pspReference };
    },

    // No lookup at Adyen: the AUTHORISATION notification (retried by Adyen until we answer) settles the charge.
    retrieve: async () => ({ status: 'processing' }),

    /**
     * Adyen's cancel by our own reference (`POST /cancels` with `paymentReference`), the call Adyen
     * documents for a payment whose pspReference or outcome is not known: it cancels the payment
     * whatever state it reached (or, if its authorisation is still to come, once it comes). Adyen
     * answers `received` and tells in a TECHNICAL_CANCEL notification (application/
     * adyen-notification.ts settles the charge from it). One key per transaction: asked again, Adyen
     * answers the same `received`.
     */
    cancelUnanswered: ({ transactionId }) => cancelByReference(transactionId),

    /**
     * A waiting payment (a redirect, 3-D Secure) whose order expired or was cancelled: the same cancel
     * by our reference. Its outcome comes later (TECHNICAL_CANCEL), so it is never `cancelled` here:
     * the order ends and the charge stays watched until the notification settles it.
     */
    async cancelAction({ transactionId }) {
      await cancelByReference(transactionId);
      return 'not_cancelled';
    },

    /**
     * The customer is back with the `redirectResult` Adyen added to the return URL: /payments/details
     * finishes the payment, under a key derived from the transaction and that result, so the same
     * return confirmed twice is one call. The other roads have nothing to send: the AUTHORISATION
     * notification tells them (application/adyen-notification.ts).
     */
    async completeAction({ transactionId, capture, redirectResult }) {
      if (!redirectResult) return { status: 'processing' };
      const key = detailsKey(transactionId, redirectResult);
      const res = await adyenCall(() =>
        checkout.PaymentsApi.paymentsDetails({ details: { redirectResult } }, { idempotencyKey: key }),
      ).catch((err: unknown) => {
        // A redirectResult Adyen refuses (forged, or another payment's) says nothing of this payment.
        if (err instanceof PaymentDeclinedError) return null;
        throw err;
      });
      if (!res) return { status: 'processing' };
      return actionOutcome(res.resultCode, res.pspReference, res.refusalReason, capture);
    },

    refunds: async () => {
      throw new PaymentProviderError('adyen: no API lists refunds; their notifications carry them');
    },
    disputes: async () => {
      throw new PaymentProviderError('adyen: no API lists disputes; their notifications carry them');
    },
  };
}

/** The reference of our one cancel of a transaction, which Adyen's TECHNICAL_CANCEL echoes beside the payment's. */
export const cancelReference = (transactionId: string) => `cancel-${transactionId}`;

/** What a finished action says, in the shape the settle step reads. */
function actionOutcome(
  resultCode: string | undefined,
  pspReference: string | undefined,
  refusalReason: string | undefined,
  capture: ChargeCapture,
): RetrieveResult {
  switch (resultCode) {
    case 'Authorised':
      if (!pspReference) return { status: 'processing' };
      return capture === 'manual'
        ? { status: 'authorized', reference: pspReference, authorizationExpiresAt: null }
        : { status: 'succeeded', reference: pspReference };
    case 'Refused':
    case 'Cancelled':
    case 'Error':
      return { status: 'failed', declineCode: declineCodeOf(refusalReason, resultCode.toLowerCase()) };
    default:
      return { status: 'processing' };
  }
}

function actionUrl(action: object): string | null {
  const url = (action as { url?: unknown }).url;
  return typeof url === 'string' ? url : null;
}

function detailsKey(transactionId: string, redirectResult: string): string {
  return `details-${createHash('sha256').update(transactionId).update('\0').update(redirectResult).digest('base64url')}`.slice(
    0,
    KEY_LIMIT,
  );
}

/** The web components' `paymentMethod` object, kept as JSON in the transaction's source. */
function paymentMethodOf(source: string): Types.checkout.PaymentRequest['paymentMethod'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    parsed = undefined;
  }
  if (
    !parsed ||
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    typeof (parsed as { type?: unknown }).type !== 'string'
  ) {
    throw new PaymentDeclinedError(
      'The Adyen payment method must be the object Adyen’s web components give.',
      'invalid_payment_method',
    );
  }
  return parsed as Types.checkout.PaymentRequest['paymentMethod'];
}
