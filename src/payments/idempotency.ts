import { createHash } from 'node:crypto';

/**
 * Deterministic idempotency keys. The key is a pure function of our own id, so
 * every retry of the same operation (the SDK's, ours, the reconciler's, after a
 * restart) presents the same key and the provider answers with the first
 * result instead of moving money again.
 *
 * Providers cap key length (Square: 45 characters), so an over-long id is
 * replaced by a hash of itself: still deterministic, still unique in practice.
 */
export function chargeKey(transactionId: string, maxLength = 255): string {
  return bounded('charge-', transactionId, maxLength);
}

export function refundKey(refundId: string, maxLength = 255): string {
  return bounded('refund-', refundId, maxLength);
}

export function captureKey(captureId: string, maxLength = 255): string {
  return bounded('capture-', captureId, maxLength);
}

export function voidKey(voidId: string, maxLength = 255): string {
  return bounded('void-', voidId, maxLength);
}

/** Creating the provider's payment for a transaction (a PayPal order the service creates itself). */
export function createKey(transactionId: string, maxLength = 255): string {
  return bounded('create-', transactionId, maxLength);
}

/** Cancelling a payment that waited for its customer: one cancel per transaction, whichever road asks. */
export function cancelKey(transactionId: string, maxLength = 255): string {
  return bounded('cancel-', transactionId, maxLength);
}

function bounded(prefix: string, id: string, maxLength: number): string {
  const key = prefix + id;
  if (key.length <= maxLength) return key;
  const digest = createHash('sha256').update(id).digest('base64url');
  return (prefix + digest).slice(0, maxLength);
}
