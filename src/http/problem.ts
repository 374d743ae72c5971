import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const CODE_TITLES: Partial<Record<ErrorCode, string>> = {
  payment_declined: 'Payment declined',
  validation_error: 'Validation failed',
  invalid_token: 'Invalid token',
  rate_limited: 'Too many requests',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  [extra: string]: unknown;
}

export function problemBody(
  code: ErrorCode,
  detail: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): ProblemBody {
  const status = ERROR_STATUS[code];
  return {
    type: 'about:blank',
    title: CODE_TITLES[code] ?? TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    request_id: requestId,
    ...extra,
  };
}

/** Sends a problem+json response; the one way every error leaves the service. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const body = problemBody(code, detail, request.id, extra);
  return reply.code(body.status).type('application/problem+json').send(body);
}
