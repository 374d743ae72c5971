import {
  emailMessage,
  eventMessage,
  itemsCancelledEvent,
  refundMessages,
  type OutboxMessage,
  type RefundNote,
} from './messages.js';
import { formatMoney } from './money.js';
import { transition, type HistoryLine, type Order, type OrderMove, type OrderRecord, type Tracking } from './order.js';
import type { OrderStatus } from './order-status.js';
import { describeUnits, type CancelUnits } from './partial-cancel.js';
import { providerActor, type ProviderId } from './payment.js';
import type { Return } from './returns.js';

/**
 * What each change that moves no status leaves on its order — money moved, units cancelled or
 * returned, a dispute — in one place: the line of its history (the status stays; the note says what
 * happened and who did it) and the messages it owes. A status move's are `transition`'s (order.ts).
 * The use cases write what they are given (persistence/status-change.ts, `recordOnOrder`).
 */

/** A movement of money as the records name it. */
type Money = Pick<RefundNote, 'amount' | 'currency'>;

const line = (order: Pick<Order, 'status'>, actor: string, at: Date, note: string): HistoryLine => ({
  to: order.status,
  at: at.toISOString(),
  actor,
  note,
});
const noted = (history: HistoryLine | null, messages: (OutboxMessage | null)[] = []): OrderRecord => ({
  history: history ? [history] : [],
  messages: messages.filter((m) => m !== null),
});
/** A line by the provider: what it reported (a refund at its dashboard, a failure, a dispute). */
const reported = (order: Order, provider: ProviderId, at: Date, note: string, messages: OutboxMessage[] = []) =>
  noted(line(order, providerActor(provider), at, note), messages);
const because = (reason: string | null) => (reason ? `: ${reason}` : '');

// ---------------------------------------------------------------- units and returns

/** Units taken out of a pending order that keeps others (`after`: the order as it is then). */
export const itemsCancelled = (
  after: Order,
  units: readonly CancelUnits[],
  reason: string | null,
  actor: string,
  at: Date,
): OrderRecord =>
  noted(line(after, actor, at, `cancelled ${describeUnits(units)}${because(reason)}`), [
    itemsCancelledEvent(after, units, reason, at),
  ]);

export const returnRequested = (order: Order, ret: Return, actor: string, at: Date): OrderRecord =>
  noted(line(order, actor, at, `return requested: ${describeUnits(ret.items)}`), [
    eventMessage('order.return_requested', order, at, { return: ret }),
    emailMessage('return_requested', order, { return: ret }),
  ]);

/** A return received or rejected (`moved`: the return after its move, returns.ts). */
export const returnDecided = (order: Order, moved: Return, actor: string, at: Date): OrderRecord =>
  noted(line(order, actor, at, `return ${moved.status}: ${describeUnits(moved.items)}`), [
    eventMessage(moved.status === 'received' ? 'order.return_received' : 'order.return_rejected', order, at, {
      return: moved,
    }),
  ]);

// ---------------------------------------------------------------- refunds

/** A refund support asked for (recorded `pending`; its messages go out when the provider confirms). */
export const refundAsked = (order: Order, refund: Money, reason: string | null, actor: string, at: Date) =>
  noted(line(order, actor, at, `refund of ${formatMoney(refund.amount, refund.currency)}${because(reason)}`));

/** The provider confirmed a refund of ours: `payment.refunded` and the `refund_issued` email. */
export const refundConfirmed = (order: Order, refund: RefundNote, at: Date): OrderRecord =>
  noted(null, refundMessages(order, { id: refund.id, amount: refund.amount, currency: refund.currency }, at));

/** A refund the provider said failed after all (ours, or one learned from it). */
export const refundFailedAtProvider = (
  order: Order,
  provider: ProviderId,
  refund: Money & { reference: string },
  at: Date,
) =>
  reported(
    order,
    provider,
    at,
    `refund ${refund.reference} of ${refund.amount} ${refund.currency} failed at the provider`,
  );

/** A refund made at the provider (its dashboard), learned from it; confirmed, it is announced as ours are. */
export const refundMadeAtProvider = (
  order: Order,
  provider: ProviderId,
  refund: RefundNote & { reference: string; pending: boolean },
  at: Date,
): OrderRecord =>
  reported(
    order,
    provider,
    at,
    `refund of ${refund.amount} ${refund.currency} made at the provider (${refund.reference})${refund.pending ? ', pending there' : ''}`,
    refund.pending
      ? []
      : refundMessages(order, { id: refund.id, amount: refund.amount, currency: refund.currency }, at),
  );

/** A pending refund of ours that a refund made at the provider left no room for (refunds-overtaken.ts). */
export const refundOvertaken = (
  order: Order,
  overtaken: RefundNote,
  reissued: number,
  providerReference: string,
  at: Date,
) =>
  noted(
    line(
      order,
      'system',
      at,
      `refund ${overtaken.id} of ${overtaken.amount} ${overtaken.currency} overtaken by the provider's refund ${providerReference}: ${reissued > 0 ? `${reissued} ${overtaken.currency} refunded instead` : 'nothing left to refund'}`,
    ),
  );

// ---------------------------------------------------------------- captures and voids

/** A capture the provider confirms later (a notification), not in its answer. */
export const captureRequested = (order: Order, capture: Money, provider: ProviderId, actor: string, at: Date) =>
  noted(
    line(
      order,
      actor,
      at,
      `capture of ${capture.amount} ${capture.currency} requested from ${provider}; the order ships when ${provider} confirms it`,
    ),
  );

/** `payment.captured`, with the capture. */
const capturedEvent = (order: Order, capture: RefundNote, at: Date): OutboxMessage =>
  eventMessage('payment.captured', order, at, {
    capture: { id: capture.id, amount: capture.amount, currency: capture.currency },
  });

/**
 * The capture a move waited for (the move to `shipped` under shipment capture) came in: the move,
 * with its own messages, then `payment.captured`.
 */
export function moveOnCapture(
  order: Order,
  intent: { status: OrderStatus; actor: string; note: string | null; tracking: Tracking | null },
  capture: RefundNote,
  at: Date,
): OrderMove {
  const move = transition(order, intent.status, intent.actor, at, intent.note, intent.tracking ?? undefined);
  return { ...move, messages: [...move.messages, capturedEvent(move.order, capture, at)] };
}

/** A capture that came in after the order moved on: the money is real, the history says so. */
export const capturedAfterMove = (order: Order, capture: RefundNote, at: Date): OrderRecord =>
  noted(line(order, 'system', at, `payment captured (${capture.amount} ${capture.currency})`), [
    capturedEvent(order, capture, at),
  ]);

export const captureDeclined = (order: Order, code: string, message: string, actor: string, at: Date) =>
  noted(line(order, actor, at, `payment capture declined (${code}): ${message}`));

export const captureFailedAfterConfirmation = (
  order: Order,
  provider: ProviderId,
  reference: string,
  reason: string,
  at: Date,
) => reported(order, provider, at, `${provider}: capture ${reference} failed after it was confirmed (${reason})`);

/** The provider released an authorization: `payment.voided`, with the void. */
export const voided = (order: Order, release: RefundNote, at: Date): OrderRecord =>
  noted(null, [
    eventMessage('payment.voided', order, at, {
      void: { id: release.id, amount: release.amount, currency: release.currency },
    }),
  ]);

export const releaseRefused = (order: Order, code: string, message: string, at: Date) =>
  noted(line(order, 'system', at, `releasing the payment was refused (${code}): ${message}`));

// ---------------------------------------------------------------- the provider's word

export const paymentFailedAfterCapture = (order: Order, provider: ProviderId, eventId: string, at: Date) =>
  reported(order, provider, at, `${provider}: payment failed after capture (${eventId})`);

export const disputeOpened = (
  order: Order,
  provider: ProviderId,
  dispute: Money & { reference: string; status: string },
  at: Date,
) =>
  reported(
    order,
    provider,
    at,
    `dispute ${dispute.reference} of ${dispute.amount} ${dispute.currency}: ${dispute.status}`,
  );

export const disputeMoved = (
  order: Order,
  provider: ProviderId,
  dispute: { reference: string; status: string },
  at: Date,
) => reported(order, provider, at, `dispute ${dispute.reference}: ${dispute.status}`);
