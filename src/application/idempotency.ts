import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { inspectKey, type KeyClaim, type StoredResponse } from '../persistence/idempotency-repository.js';
import type { Deps } from './deps.js';

/**
 * The Idempotency-Key rules every route that takes one follows (IETF draft "The Idempotency-Key
 * HTTP Header Field"): keys scoped to the user, the same key and body replay the first response,
 * another body is `422 idempotency_key_reused`, a request still running is `409 idempotency_in_progress`.
 */

/** Idempotency keys are kept at least 24 hours (the IETF draft's expectation); we keep them 48. */
const KEY_TTL_MS = 48 * 3600_000;

/** A key claim for this caller and request; `request` should name what the body is for (route, target) as well as hold it. */
export function keyClaim(userId: string, key: string, request: unknown, now: Date): KeyClaim {
  return { userId, key, fingerprint: fingerprint(request), expiresAt: new Date(now.getTime() + KEY_TTL_MS) };
}

/** The answer an earlier request with the same key and body stored, to be sent again as it was. */
export interface Replayed {
  kind: 'replayed';
  response: StoredResponse;
}

/**
 * What the claiming step returns when it wrote nothing because the key was held — or may be: a step
 * that refuses the request before it tries the claim (unknown product, no stock) does not know, and
 * passes its refusal as `otherwise`, thrown when the key turns out to hold nothing.
 */
export class KeyNotClaimed {
  constructor(readonly otherwise?: DomainError) {}
}

/**
 * The one way a use case takes an Idempotency-Key. `claim` is the use case's first write, which
 * claims the key in the same transaction or statement (`claimKey`, or the reservation's own claim),
 * so the claim and the work it guards commit or vanish together; its answer is stored with the key
 * when the work ends (`completeKey`, or the settlement's own statement). When `claim` finds the key
 * held, the key answers instead: the stored response replayed, or its refusal thrown — unless the
 * request still holding it is gone and `takeOver` hands its work to this one.
 */
export async function withIdempotencyKey<T>(
  deps: Pick<Deps, 'db'>,
  key: KeyClaim | null,
  claim: () => Promise<T | KeyNotClaimed>,
  takeOver?: (key: KeyClaim) => Promise<T | undefined>,
): Promise<T | Replayed> {
  const claimed = await claim();
  if (!(claimed instanceof KeyNotClaimed)) return claimed;
  const held = key && (await inspectKey(deps.db, key.userId, key.key, key.fingerprint));
  // Free: the refusal the step had, or the key was held when the claim was tried and its request just ended.
  if (!held) throw claimed.otherwise ?? keyInProgress();
  if (held.state === 'completed') return { kind: 'replayed', response: held.response };
  if (held.state === 'mismatch')
    throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
  const taken = takeOver && (await takeOver(key));
  if (taken) return taken;
  throw keyInProgress();
}

const keyInProgress = () =>
  new DomainError(
    'idempotency_in_progress',
    'A request with this Idempotency-Key is still being processed; retry shortly.',
  );

/** The request's identity for Idempotency-Key reuse checks: its body, canonically serialized. */
function fingerprint(input: unknown): string {
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
