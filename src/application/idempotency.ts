import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { inspectKey, type StoredResponse } from '../persistence/idempotency-repository.js';
import type { KeyClaimRequest } from '../persistence/reservation.js';
import type { Deps } from './ports.js';

/**
 * The Idempotency-Key rules every route that takes one follows (IETF draft "The Idempotency-Key
 * HTTP Header Field"): keys scoped to the user, the same key and body replay the first response,
 * another body is `422 idempotency_key_reused`, a request still running is `409 idempotency_in_progress`.
 */

/** Idempotency keys are kept at least 24 hours (the IETF draft's expectation); we keep them 48. */
export const KEY_TTL_MS = 48 * 3600_000;

/** A key claim for this caller and request; `request` should name what the body is for (route, target) as well as hold it. */
export function keyClaim(userId: string, key: string, request: unknown, now: Date): KeyClaimRequest {
  return { userId, key, fingerprint: fingerprint(request), expiresAt: new Date(now.getTime() + KEY_TTL_MS) };
}

/** A held key's stored answer, or its refusal thrown; undefined when the key is free. */
export async function answerFromKey(deps: Deps, key: KeyClaimRequest): Promise<StoredResponse | undefined> {
  const held = await inspectKey(deps.db, key.userId, key.key, key.fingerprint);
  if (!held) return undefined;
  if (held.state === 'completed') return held.response;
  if (held.state === 'mismatch') throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
  throw keyInProgress();
}

export const keyInProgress = () => new DomainError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.');

/** The request's identity for Idempotency-Key reuse checks: its body, canonically serialized. */
export function fingerprint(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
