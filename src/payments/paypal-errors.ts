import { ApiError, type Client } from '@paypal/paypal-server-sdk';
import pRetry from 'p-retry';
import { retriesOf } from './paypal-client.js';
import { PaymentDeclinedError, PaymentProviderError } from './provider.js';

/**
 * PayPal's failures onto ours. A 422 whose issue says the buyer's funding was
 * refused (or the order cannot be captured by us) is a decline with that issue
 * as the code; anything else, timeouts and 5xx included, is a provider failure.
 */
const DECLINE_ISSUES = new Set([
  'INSTRUMENT_DECLINED',
  'TRANSACTION_REFUSED',
  'PAYER_ACTION_REQUIRED',
  'PAYER_CANNOT_PAY',
  'ORDER_NOT_APPROVED',
  'ORDER_ALREADY_CAPTURED',
  'ORDER_COMPLETED_OR_VOIDED',
  'ORDER_EXPIRED',
  'MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED',
  'REDIRECT_PAYER_FOR_ALTERNATE_FUNDING',
  'CARD_EXPIRED',
]);

interface PayPalErrorBody {
  name?: string;
  message?: string;
  details?: { issue: string; description?: string }[];
}

export function issueOf(err: unknown): string | undefined {
  const cause = err instanceof PaymentProviderError ? err.cause : err;
  if (!(cause instanceof ApiError)) return undefined;
  return (
    (cause.result as PayPalErrorBody | undefined)?.details?.[0]?.issue ??
    (cause.result as PayPalErrorBody | undefined)?.name
  );
}

export function statusOf(err: unknown): number | undefined {
  const cause = err instanceof PaymentProviderError ? err.cause : err;
  return cause instanceof ApiError ? cause.statusCode : undefined;
}

export function isNotFound(err: unknown): boolean {
  const cause = err instanceof PaymentProviderError ? err.cause : err;
  return cause instanceof ApiError && cause.statusCode === 404;
}

/** Answers worth asking again: the request timed out at PayPal, too many requests, or a server error. */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Before the first retry; doubled for each one after it. */
const RETRY_DELAY_MS = 500;

/**
 * Runs one SDK call, retried (with backoff) after a timeout, a connection that failed, or an answer
 * in RETRY_STATUSES; never after any other answer, which would only come again. Retrying is safe:
 * every POST that moves money carries a PayPal-Request-Id, and the others read. `declines` says
 * whether a refused-funding answer is a decline here (charges only).
 */
export async function paypalCall<T>(client: Client, fn: () => Promise<T>, { declines = false } = {}): Promise<T> {
  try {
    return await pRetry(fn, {
      retries: retriesOf(client),
      factor: 2,
      minTimeout: RETRY_DELAY_MS,
      randomize: false,
      shouldRetry: ({ error }) => !(error instanceof ApiError) || RETRY_STATUSES.has(error.statusCode),
    });
  } catch (err) {
    if (err instanceof ApiError) {
      const body = err.result as PayPalErrorBody | undefined;
      const issue = body?.details?.[0]?.issue;
      if (declines && err.statusCode === 422 && issue && DECLINE_ISSUES.has(issue)) {
        throw new PaymentDeclinedError(
          body?.details?.[0]?.description ?? body?.message ?? 'PayPal declined the payment.',
          issue.toLowerCase(),
        );
      }
      throw new PaymentProviderError(`paypal: ${err.statusCode} ${issue ?? body?.name ?? err.message}`, err);
    }
    throw new PaymentProviderError(`paypal: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
