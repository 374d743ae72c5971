import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE = /^[A-Za-z0-9._:\-]{1,128}$/;

/** Whether a request id sent by the caller is echoed (else one is made). */
export const isSafeRequestId = (id: string): boolean => SAFE.test(id);

/** Echo the caller's X-Request-Id when it is a sane token, so logs join up across services; else make one. */
export function genReqId(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && SAFE.test(sent) ? sent : randomUUID();
}
