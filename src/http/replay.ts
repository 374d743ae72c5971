import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Replayed } from '../application/idempotency.js';
import type { ErrorCode } from '../domain/errors.js';
import { sendProblem } from './problem.js';

/**
 * Sends again what an earlier request with the same Idempotency-Key and body was answered
 * (`Idempotent-Replayed: true`): its body with its status, or its refusal as problem+json with this
 * request's id. `location` names a created resource by its body, as the first answer did.
 */
export function sendReplay(
  request: FastifyRequest,
  reply: FastifyReply,
  { response }: Replayed,
  location?: (body: { id: string }) => string,
): FastifyReply {
  reply.header('idempotent-replayed', 'true');
  const { status, body } = response;
  if (status < 400) {
    if (location) reply.header('location', location(body as { id: string }));
    return reply.code(status).send(body);
  }
  const { code, detail, ...extra } = body as { code: ErrorCode; detail: string };
  return sendProblem(request, reply, code, detail, extra);
}
