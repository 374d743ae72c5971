import { randomUUID } from 'node:crypto';
import { errors } from '../domain/errors.js';
import { refundable, type LedgerEntry } from '../domain/payment.js';
import { claimKey, completeKey, type StoredResponse } from '../persistence/idempotency-repository.js';
import { findMovement, ledgerViolation, readLedgerSums, recordMovement, type Movement } from '../persistence/ledger.js';
import { appendHistory, lockOrder } from '../persistence/order-repository.js';
import { formatMoney } from '../domain/money.js';
import { answerFromKey, keyClaim, keyInProgress } from './idempotency.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './ports.js';
import { refundMovement } from './refund-payment.js';

export interface RefundRequest {
  amount: number;
  reason?: string | null;
}

export type RefundResult =
  | { kind: 'created'; entry: LedgerEntry }
  /** A stored response for the same Idempotency-Key and body. */
  | { kind: 'replayed'; response: StoredResponse };

/** The key was held when this request tried to claim it. */
class KeyHeld extends Error {}

/**
 * Support gives money back by hand (a goodwill refund), any order status. Two steps, never a
 * transaction around a network call:
 *  1. under the order's row lock: claim the Idempotency-Key, check what is left to refund and
 *     record the refund `pending` in the ledger (the database refuses it too if racing requests on
 *     other instances took the money first), the answer stored with the key;
 *  2. the provider call with the row's id as its idempotency key; the reconciler retries it until
 *     the provider confirms, so a crash in between still ends with exactly one refund.
 */
export async function refundOrder(deps: Deps, actor: Actor, orderId: string, input: RefundRequest, idempotencyKey: string | null): Promise<RefundResult> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const reason = input.reason ?? null;
  const key = idempotencyKey ? keyClaim(actor.sub, idempotencyKey, { refund_of: id, amount: input.amount, reason }, now) : null;
  if (key) {
    const replay = await answerFromKey(deps, key);
    if (replay) return { kind: 'replayed', response: replay };
  }
  let movement: Movement;
  try {
    movement = await deps.db.transaction().execute(async (trx) => {
      if (key && !(await claimKey(trx, key))) throw new KeyHeld();
      const order = await lockOrder(trx, id);
      if (!order) throw errors.orderNotFound();
      const sums = await readLedgerSums(trx, order.payment.transaction_id);
      if (sums.captured === 0) throw errors.paymentNotCaptured();
      if (input.amount > refundable(sums)) throw errors.refundExceedsCaptured(refundable(sums));
      const m = await recordMovement(trx, {
        id: randomUUID(),
        transactionId: order.payment.transaction_id,
        orderId: id,
        kind: 'refund',
        amount: input.amount,
        currency: order.payment.currency,
        actor: actor.sub,
        reason,
        // The reconciler stays off until this request had its chance to make it.
        retryInMs: deps.reconcileAfterMs,
        now,
      });
      // Every money change is in the order's history, by whoever made it.
      await appendHistory(trx, id, {
        to: order.status,
        at: now.toISOString(),
        actor: actor.sub,
        note: `refund of ${formatMoney(input.amount, order.payment.currency)}${reason ? `: ${reason}` : ''}`,
      });
      if (key) await completeKey(trx, key.userId, key.key, { status: 201, body: toEntry(m) });
      return m;
    });
  } catch (err) {
    if (err instanceof KeyHeld && key) {
      const replay = await answerFromKey(deps, key);
      if (replay) return { kind: 'replayed', response: replay };
      throw keyInProgress();
    }
    if (ledgerViolation(err) === 'invariant') throw errors.refundExceedsCaptured();
    throw err;
  }
  await refundMovement(deps, movement);
  const entry = toEntry((await findMovement(deps.db, movement.id)) ?? movement);
  // A replay answers with what is known now, not the pending row of the first answer.
  if (key) await completeKey(deps.db, key.userId, key.key, { status: 201, body: entry });
  return { kind: 'created', entry };
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
