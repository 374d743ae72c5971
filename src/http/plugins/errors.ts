import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isDomainError, type ErrorCode, type FieldError } from '../../domain/errors.js';
import { sendProblem } from '../problem.js';

interface AjvError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Ajv's errors → the contract's `errors: [{path, message}]` (JSON Pointers into the request part). */
function fieldErrors(validation: AjvError[], context?: string): FieldError[] {
  const prefix = context && context !== 'body' ? `/${context}` : '';
  return validation.map((e) => {
    // Point at the offending field itself: the unknown one, or the missing one.
    const field =
      e.keyword === 'additionalProperties'
        ? e.params.additionalProperty
        : e.keyword === 'required'
          ? e.params.missingProperty
          : undefined;
    const extra = field === undefined ? '' : `/${String(field).replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const message = e.keyword === 'additionalProperties' ? 'is not an allowed field' : (e.message ?? 'is invalid');
    return { path: `${prefix}${e.instancePath}${extra}` || '/', message };
  });
}

/** Fastify's own error codes → the contract's codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

export default fp(
  async function errorsPlugin(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (isDomainError(error)) {
        return sendProblem(request, reply, error.code, error.message, error.extra);
      }
      if (error.validation) {
        const errs = fieldErrors(error.validation as AjvError[], error.validationContext);
        return sendProblem(request, reply, 'validation_error', 'The request is not valid.', { errors: errs });
      }
      const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
      if (mapped) return sendProblem(request, reply, mapped, publicMessage(mapped));
      if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
        return sendProblem(request, reply, 'invalid_json', publicMessage('invalid_json'));
      }
      if (error.statusCode === 429) return sendProblem(request, reply, 'rate_limited', 'Too many requests; slow down.');
      if (error.statusCode === 413)
        return sendProblem(request, reply, 'payload_too_large', publicMessage('payload_too_large'));
      if (error.statusCode === 415)
        return sendProblem(request, reply, 'unsupported_media_type', publicMessage('unsupported_media_type'));
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return sendProblem(request, reply, 'validation_error', 'The request is not valid.', { errors: [] });
      }
      if (isDatabaseDown(error)) {
        request.log.error({ err: error }, 'dependency unavailable');
        return sendProblem(request, reply, 'service_unavailable', 'The database is unavailable; try again shortly.');
      }
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(
        request,
        reply,
        'internal_error',
        `An unexpected error occurred; quote request id ${request.id}.`,
      );
    });

    app.setNotFoundHandler((request, reply) =>
      sendProblem(request, reply, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}.`),
    );
  },
  { name: 'errors' },
);

function publicMessage(code: ErrorCode): string {
  switch (code) {
    case 'invalid_json':
      return 'The body is not valid JSON.';
    case 'payload_too_large':
      return 'The body is larger than the limit.';
    case 'unsupported_media_type':
      return 'Send the body as application/json.';
    default:
      return 'The request could not be processed.';
  }
}

/**
 * Connection-level failures (server down, pool exhausted, no host is primary, a primary demoted under
 * us: 25006), and a statement cancelled by the statement timeout or a lock that could not be had
 * (57014, 55P03: the row is held by another request, e.g. a payment being settled across its provider
 * call) — retryable conditions, as opposed to bugs in a query.
 */
function isDatabaseDown(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (
    typeof e?.code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|57P01|57P02|57P03|57014|55P03|08\w{3}|25006|53300)$/.test(
      e.code,
    )
  )
    return true;
  return (
    typeof e?.message === 'string' &&
    /(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/i.test(
      e.message,
    )
  );
}
