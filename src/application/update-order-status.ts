import { newId } from '../domain/ids.js';
import { errors } from '../domain/errors.js';
import { transition, type Order, type Tracking } from '../domain/order.js';
import type { TrackingStatus } from '../domain/order-status.js';
import { lockOrder } from '../persistence/order-repository.js';
import { pendingMovements, recordMovement, type Movement } from '../persistence/ledger.js';
import { recordStatusChange } from '../persistence/status-change.js';
import { capturePayment, type ShipIntent } from './capture-payment.js';
import { assertOrderId } from './order-access.js';
import type { Actor, Deps } from './deps.js';

type StatusInput = { status: TrackingStatus; tracking?: Tracking | null; note?: string | null };

/**
 * What the move answered: the order as it stands, and whether the move still waits for the provider
 * (`accepted`: a capture the provider confirms later, Adyen's; the HTTP answer is then 202).
 */
export interface StatusMove {
  order: Order;
  accepted: boolean;
}

/**
 * Admin tracking: one step along the state machine, recorded and announced in one statement. The
 * move to `shipped` of an order whose payment is only authorized (PAYMENT_CAPTURE=shipment) first
 * captures what the order still owes: the order ships only once the provider took the money. Where
 * the provider confirms a capture only later (Adyen's CAPTURE notification), the move is accepted
 * and not yet made: the order stays where it was until the confirmation ships it, or a refusal
 * leaves it there with its history saying why (docs/adr/0024).
 */
export async function updateOrderStatus(
  deps: Deps,
  actor: Actor,
  orderId: string,
  input: StatusInput,
): Promise<StatusMove> {
  const id = assertOrderId(orderId);
  const now = deps.clock();
  const step = await deps.db.transaction().execute(async (trx): Promise<{ order: Order } | { capture: Movement }> => {
    const current = await lockOrder(trx, id);
    if (!current) throw errors.orderNotFound();
    const move = transition(current, input.status, actor.sub, now, input.note ?? null, input.tracking ?? undefined);
    if (input.status === 'shipped' && owesCapture(current)) {
      // A capture already in flight (its request got a 502) is retried, never doubled.
      const [pending] = await pendingMovements(trx, current.payment.transaction_id, 'capture');
      const intent: ShipIntent = {
        status: 'shipped',
        tracking: move.order.tracking,
        note: move.change.note,
        actor: actor.sub,
      };
      const capture =
        pending ??
        (await recordMovement(trx, {
          id: newId(),
          transactionId: current.payment.transaction_id,
          orderId: id,
          kind: 'capture',
          amount: current.current_total,
          currency: current.payment.currency,
          actor: actor.sub,
          reason: 'shipped',
          context: intent,
          retryInMs: deps.reconcileAfterMs,
          now,
        }));
      return { capture };
    }
    await recordStatusChange(trx, move);
    return { order: move.order };
  });
  if ('order' in step) return { order: step.order, accepted: false };
  const captured = await capturePayment(deps, step.capture);
  if (captured.status === 'succeeded') return { order: captured.order, accepted: false };
  // Submitted: the confirmation may already have shipped it (a quick notification); else it waits for it.
  if (captured.status === 'submitted')
    return { order: captured.order, accepted: captured.order.status !== input.status };
  if (captured.status === 'declined') throw captured.error;
  throw errors.providerError(
    'The payment provider failed or did not answer while capturing; the order is not shipped yet, and the capture is retried automatically.',
  );
}

/** Authorized, nothing captured yet, and something still owed. */
const owesCapture = (o: Order) =>
  o.payment.amount_captured === 0 && o.payment.amount_authorized > 0 && o.current_total > 0;
