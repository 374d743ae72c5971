import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/errors.js';
import { problemBody, sendProblem } from './problem.js';
import { isSafeRequestId } from './request-id.js';

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (the server's `clientError` event:
 * https://nodejs.org/api/http.html#event-clienterror) answer like every other error — problem+json
 * with `X-Request-Id` — and the connection is closed: after a parse error the byte stream cannot be
 * trusted to hold a next request (request smuggling), so nothing more is read from it.
 */
export function clientErrorHandler(maxHeaderSize: number) {
  return function onClientError(this: FastifyInstance, err: ConnectionError, socket: Socket): void {
    answerClientError(this, maxHeaderSize, err, socket);
  };
}

function answerClientError(app: FastifyInstance, maxHeaderSize: number, err: ConnectionError, socket: Socket): void {
  // A reset peer has gone; there is nobody to answer (Fastify's own handler does the same).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Node hands over the bytes it was parsing (a Buffer, whatever Fastify's type says).
  const packet = err.rawPacket as unknown;
  const raw = Buffer.isBuffer(packet) ? packet.toString('latin1') : '';
  const [code, detail] = classify(err.code, raw, maxHeaderSize);
  const sent = /\r\nx-request-id:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(raw)?.[1];
  const requestId = sent && isSafeRequestId(sent) ? sent : randomUUID();
  app.log.info({ reqId: requestId, code: err.code, status: code }, 'request refused by the HTTP parser');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const problem = problemBody(code, detail, requestId);
  const body = JSON.stringify(problem);
  const head = [
    `HTTP/1.1 ${problem.status} ${problem.title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Cache-Control: no-store',
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

function classify(errCode: string | undefined, raw: string, maxHeaderSize: number): [ErrorCode, string] {
  if (errCode === 'ERR_HTTP_REQUEST_TIMEOUT') return ['request_timeout', 'The request did not arrive in time.'];
  if (errCode === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line against the same limit as the headers (maxHeaderSize); when the
    // request line alone is over it (or never ended before it), it is the URL that is too long.
    const end = raw.indexOf('\n');
    const requestLine = end === -1 ? raw : raw.slice(0, end);
    if (/^[A-Z]+ /.test(requestLine) && (end === -1 || requestLine.length >= maxHeaderSize))
      return ['uri_too_long', 'The URL is longer than the limit.'];
    return ['header_fields_too_large', 'The request headers are larger than the limit.'];
  }
  return ['bad_request', 'The request is not valid HTTP.'];
}

/**
 * Fastify's own refusals of a URL before routing (bad percent-encoding, a path parameter over
 * HTTP_MAX_PARAM_LENGTH), as problem+json instead of Fastify's JSON.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  if (error.code === 'FST_ERR_BAD_URL') {
    sendProblem(request, reply, 'bad_request', 'The URL is not valid (a malformed percent-encoding).');
    return;
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(request, reply, 'uri_too_long', 'A path segment is longer than the limit.');
    return;
  }
  request.log.error({ err: error }, 'framework error');
  sendProblem(request, reply, 'internal_error', `An unexpected error occurred; quote request id ${request.id}.`);
}
