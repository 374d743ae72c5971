/**
 * Timeouts and retry counts are set explicitly on every SDK (PayPal's default
 * timeout is "none", Stripe's 80 s): a charge must fail within a bounded time so
 * the order request can answer 502 and leave the rest to the reconciler.
 *
 * Worst case for one call is about (maxRetries + 1) × timeoutMs plus the SDK's
 * backoff. Retries are only ever the SDK's own, and every retried request
 * carries the same idempotency key, so a retry cannot move money twice.
 */
export interface ProviderOptions {
  /** Per HTTP attempt. Default 10 s. */
  timeoutMs?: number;
  /** Retries after the first attempt, done by the SDK. Default 2. */
  maxRetries?: number;
  /**
   * Where PAYPAL_API_BASE / SQUARE_API_BASE are unset: the live API when true,
   * the provider's sandbox otherwise (the registry passes NODE_ENV=production).
   */
  production?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRIES = 2;

export function sdkTimeouts(options: ProviderOptions): { timeoutMs: number; maxRetries: number } {
  return {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
  };
}
