/**
 * The closed list of error codes the API can return. The HTTP status for each
 * lives here too, so that one renderer (http/plugins/errors.ts) maps every
 * failure the same way and a new code cannot be added without a status.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  bad_request: 400,
  invalid_signature: 400,
  invalid_token: 401,
  forbidden: 403,
  order_not_found: 404,
  product_not_found: 404,
  not_found: 404,
  payment_declined: 402,
  order_not_cancellable: 409,
  invalid_transition: 409,
  out_of_stock: 409,
  price_changed: 409,
  idempotency_in_progress: 409,
  order_not_returnable: 409,
  payment_not_captured: 409,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  validation_error: 422,
  unknown_product: 422,
  currency_mismatch: 422,
  provider_not_enabled: 422,
  idempotency_key_reused: 422,
  invalid_cursor: 422,
  payment_amount_mismatch: 422,
  payment_intent_mismatch: 422,
  invalid_items: 422,
  refund_exceeds_captured: 422,
  rate_limited: 429,
  header_fields_too_large: 431,
  payment_provider_error: 502,
  service_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Extra top-level members of the problem body (e.g. `decline_code`, `errors`). */
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.extra = extra;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

export const errors = {
  forbidden: (detail = 'You do not have access to this resource.') => new DomainError('forbidden', detail),
  orderNotFound: () => new DomainError('order_not_found', 'No such order.'),
  productNotFound: (id: string) => new DomainError('product_not_found', `No product ${id}.`),
  notCancellable: (status: string) =>
    new DomainError('order_not_cancellable', `An order in status ${status} cannot be cancelled.`),
  invalidTransition: (from: string, to: string) =>
    new DomainError('invalid_transition', `An order cannot move from ${from} to ${to}.`),
  validation: (errs: FieldError[], detail = 'The request is not valid.') =>
    new DomainError('validation_error', detail, { errors: errs }),
  invalidCursor: () => new DomainError('invalid_cursor', 'The cursor was not issued by this service.'),
  paymentDeclined: (message: string, declineCode?: string) =>
    new DomainError('payment_declined', message, declineCode ? { decline_code: declineCode } : {}),
  providerError: (
    detail = 'The payment provider failed or did not answer; no order was made, and anything it took is refunded automatically.',
  ) => new DomainError('payment_provider_error', detail),
  providerNotEnabled: (provider: string) =>
    new DomainError('provider_not_enabled', `The payment provider ${provider} is not enabled.`),
  invalidItems: (errs: FieldError[], detail = 'The items do not match what the order holds.') =>
    new DomainError('invalid_items', detail, { errors: errs }),
  notReturnable: (detail: string) => new DomainError('order_not_returnable', detail),
  refundExceedsCaptured: (refundable?: number) =>
    refundable === undefined
      ? new DomainError(
          'refund_exceeds_captured',
          'The amount exceeds what was captured, less refunds made or in flight.',
        )
      : new DomainError(
          'refund_exceeds_captured',
          `At most ${refundable} can still be refunded (captured, less refunds made or in flight).`,
          { refundable },
        ),
  paymentNotCaptured: () =>
    new DomainError(
      'payment_not_captured',
      'Nothing has been captured for this order yet, so there is nothing to refund.',
    ),
  returnNotFound: () => new DomainError('not_found', 'No such return for this order.'),
  serviceUnavailable: (detail = 'A dependency is unavailable; try again shortly.') =>
    new DomainError('service_unavailable', detail),
};
