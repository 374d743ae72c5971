import { SquareError } from 'square';
import { PaymentDeclinedError, PaymentProviderError } from './provider.js';

/**
 * Square's failures onto ours. Square reports a decline as an error of category
 * PAYMENT_METHOD_ERROR (GENERIC_DECLINE, INSUFFICIENT_FUNDS, CVV_FAILURE, …);
 * a source token that is used up or malformed is the customer's problem too.
 * Everything else (timeouts, 5xx, auth, our own bad request) is a provider
 * failure whose outcome the reconciler settles.
 */
const BAD_SOURCE_CODES = new Set([
  'CARD_TOKEN_EXPIRED',
  'CARD_TOKEN_USED',
  'INVALID_CARD_DATA',
  'INVALID_CARD',
  'CARD_EXPIRED',
  'CARD_NOT_SUPPORTED',
]);

interface SquareErrorItem {
  category: string;
  code: string;
  detail?: string;
}

function declineOf(errors: readonly SquareErrorItem[]): PaymentDeclinedError | null {
  const decline = errors.find((e) => e.category === 'PAYMENT_METHOD_ERROR' || BAD_SOURCE_CODES.has(e.code));
  return decline
    ? new PaymentDeclinedError(decline.detail ?? 'Your card was declined.', decline.code.toLowerCase())
    : null;
}

function describe(errors: readonly SquareErrorItem[]): string {
  return errors.map((e) => `${e.category}/${e.code}${e.detail ? `: ${e.detail}` : ''}`).join('; ');
}

/** A response whose body carries `errors` failed, whatever its HTTP status said. */
export function throwIfErrors(errors: readonly SquareErrorItem[] | undefined): void {
  if (!errors?.length) return;
  throw declineOf(errors) ?? new PaymentProviderError(`square: ${describe(errors)}`, { errors });
}

/** The first Square error code of a failed call (`AMOUNT_TOO_HIGH`, `BAD_REQUEST`, …), if Square answered with one. */
export function errorCode(err: unknown): string | undefined {
  if (!(err instanceof PaymentProviderError)) return undefined;
  const errors =
    err.cause instanceof SquareError
      ? err.cause.errors
      : (err.cause as { errors?: SquareErrorItem[] } | undefined)?.errors;
  return Array.isArray(errors) ? errors[0]?.code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof PaymentProviderError && err.cause instanceof SquareError && err.cause.statusCode === 404;
}

export async function squareCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PaymentDeclinedError || err instanceof PaymentProviderError) throw err;
    if (err instanceof SquareError) {
      const decline = err.statusCode !== undefined && err.statusCode < 500 ? declineOf(err.errors) : null;
      if (decline) throw decline;
      throw new PaymentProviderError(
        `square: ${err.statusCode ?? 'no status'} ${describe(err.errors) || err.message}`,
        err,
      );
    }
    // SquareTimeoutError, network errors.
    throw new PaymentProviderError(`square: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
