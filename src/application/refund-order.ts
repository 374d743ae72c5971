import { newId } from '../domain/ids.js';
import { errors } from '../domain/errors.js';
import { refundAsked } from '../domain/order-records.js';
import { refundable, type LedgerEntry } from '../domain/payment.js';
import { claimKey, completeKey, type KeyClaim } from '../persistence/idempotency-repository.js';
import { findMovement, ledgerViolation, readLedgerSums, recordMovement, type Movement } from '../persistence/ledger.js';
import { lockOrder } from '../persistence/order-repository.js';
import { recordOnOrder } from '../persistence/status-change.js';
import { keyClaim, KeyNotClaimed, withIdempotencyKey, type Replayed } from './idempotency.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';
import { refundPayment } from './refund-payment.js';

export interface RefundRequest {
  amount: number;
  reason?: string | null;
}

export type RefundOrderResult = { kind: 'created'; entry: LedgerEntry } | Replayed;

/**
 * Support gives money back by hand (a goodwill refund), any order status. Two steps, never a
 * transaction around a network call:
 *  1. under the order's row lock: claim the Idempotency-Key, check what is left to refund and
 *     record the refund `pending` in the ledger (the database refuses it too if racing requests on
 *     other instances took the money first), the answer stored with the key;
 *  2. the provider call with the row's id as its idempotency key; the reconciler retries it until
 *     the provider confirms, so a crash in between still ends with exactly one refund.
 */
export async function refundOrder(
  deps: Deps,
  actor: Actor,
  orderId: string,
  input: RefundRequest,
  idempotencyKey: string | null,
): Promise<RefundOrderResult> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const reason = input.reason ?? null;
  const key = idempotencyKey
    ? keyClaim(actor.sub, idempotencyKey, { refund_of: id, amount: input.amount, reason }, now)
    : null;
  const recorded = await withIdempotencyKey(deps, key, () =>
    recordRefund(deps, actor, id, { amount: input.amount, reason }, key, now),
  );
  if (recorded.kind === 'replayed') return recorded;
  const movement = recorded.movement;
  await refundPayment(deps, movement);
  const entry = toEntry((await findMovement(deps.db, movement.id)) ?? movement);
  // A replay answers with what is known now, not the pending row of the first answer.
  if (key) await completeKey(deps.db, key.userId, key.key, { status: 201, body: entry });
  return { kind: 'created', entry };
}

/** Step 1, in one transaction: the key claimed, the refund checked against the ledger and recorded `pending`. */
async function recordRefund(
  deps: Deps,
  actor: Actor,
  id: string,
  input: { amount: number; reason: string | null },
  key: KeyClaim | null,
  now: Date,
): Promise<{ kind: 'recorded'; movement: Movement } | KeyNotClaimed> {
  try {
    return await deps.db.transaction().execute(async (trx) => {
      if (key && !(await claimKey(trx, key))) return new KeyNotClaimed();
      const order = await lockOrder(trx, id);
      if (!order) throw errors.orderNotFound();
      const sums = await readLedgerSums(trx, order.payment.transaction_id);
      if (sums.captured === 0) throw errors.paymentNotCaptured();
      if (input.amount > refundable(sums)) throw errors.refundExceedsCaptured(refundable(sums));
      const movement = await recordMovement(trx, {
        id: newId(),
        transactionId: order.payment.transaction_id,
        orderId: id,
        kind: 'refund',
        amount: input.amount,
        currency: order.payment.currency,
        actor: actor.sub,
        reason: input.reason,
        // The reconciler stays off until this request had its chance to make it.
        retryInMs: deps.reconcileAfterMs,
        now,
      });
      // Every money change is in the order's history, by whoever made it.
      await recordOnOrder(trx, id, refundAsked(order, movement, input.reason, actor.sub, now));
      if (key) await completeKey(trx, key.userId, key.key, { status: 201, body: toEntry(movement) });
      return { kind: 'recorded' as const, movement };
    });
  } catch (err) {
    if (ledgerViolation(err) === 'invariant') throw errors.refundExceedsCaptured();
    throw err;
  }
}

const toEntry = (m: Movement): LedgerEntry => ({
  id: m.id,
  kind: m.kind,
  amount: m.amount,
  currency: m.currency,
  status: m.status,
  provider_reference: m.provider_reference,
  reason: m.reason,
  actor: m.actor,
  created_at: m.created_at,
  updated_at: m.updated_at,
});
