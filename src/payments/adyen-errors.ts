import { HttpClientException } from '@adyen/api-library';
import { PaymentDeclinedError, PaymentProviderError } from './provider.js';

/**
 * Adyen's failures onto ours. A refusal is an answer (`resultCode` Refused, Cancelled, Error) and
 * is mapped where the answer is read; here are the failures of the call itself. A 422 is Adyen
 * refusing the request's content (an invalid payment method, a modification of a payment that
 * cannot take it): a decline with Adyen's error code. Anything else — timeouts, 5xx, a rejected
 * API key — is a provider failure whose outcome the notifications and the reconciler settle.
 */
export async function adyenCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PaymentDeclinedError || err instanceof PaymentProviderError) throw err;
    if (err instanceof HttpClientException) {
      if (err.statusCode === 422)
        throw new PaymentDeclinedError(messageOf(err), `adyen_${err.errorCode ?? 'validation'}`);
      throw new PaymentProviderError(`adyen: ${err.statusCode} ${err.errorCode ?? ''} ${messageOf(err)}`.trim(), err);
    }
    throw new PaymentProviderError(`adyen: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

function messageOf(err: HttpClientException): string {
  try {
    const body = JSON.parse(err.responseBody ?? '') as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not Adyen's ServiceError body
  }
  return err.message;
}

/** `refusalReason` ("Not enough balance", "CVC Declined") as our decline code: `not_enough_balance`, `cvc_declined`. */
export function declineCodeOf(refusalReason: string | undefined, fallback: string): string {
  const code = (refusalReason ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return code || fallback;
}
