import { formatMoney } from './money.js';
import type { Order, StatusChange } from './order.js';
import { describeUnits, type CancelUnits } from './partial-cancel.js';

/**
 * The lines of an order's history that are no move of its status — money moved, units cancelled or
 * returned, a dispute — and what each says, in one place. A status move is `transition`'s.
 */
export function noteOn(order: Pick<Order, 'status'>, actor: string, at: Date, note: string): StatusChange {
  return { from: order.status, to: order.status, at: at.toISOString(), actor, note };
}

const because = (reason: string | null) => (reason ? `: ${reason}` : '');

export const historyNotes = {
  refund: (amount: number, currency: string, reason: string | null) =>
    `refund of ${formatMoney(amount, currency)}${because(reason)}`,
  itemsCancelled: (units: readonly CancelUnits[], reason: string | null) =>
    `cancelled ${describeUnits(units)}${because(reason)}`,
  returnRequested: (units: readonly CancelUnits[]) => `return requested: ${describeUnits(units)}`,
  returnReceived: (units: readonly CancelUnits[]) => `return received: ${describeUnits(units)}`,
  returnRejected: (units: readonly CancelUnits[]) => `return rejected: ${describeUnits(units)}`,
  /** A capture that came in after the order moved on. */
  paymentCaptured: (amount: number, currency: string) => `payment captured (${amount} ${currency})`,
  /** A capture the provider confirms later (a notification), not in its answer. */
  captureRequested: (amount: number, currency: string, provider: string) =>
    `capture of ${amount} ${currency} requested from ${provider}; the order ships when ${provider} confirms it`,
  captureFailedAfterConfirmation: (provider: string, reference: string, reason: string) =>
    `${provider}: capture ${reference} failed after it was confirmed (${reason})`,
  captureDeclined: (code: string, message: string) => `payment capture declined (${code}): ${message}`,
  releaseRefused: (code: string, message: string) => `releasing the payment was refused (${code}): ${message}`,
  paymentFailedAfterCapture: (provider: string, eventId: string) =>
    `${provider}: payment failed after capture (${eventId})`,
  providerRefundFailed: (reference: string, amount: number, currency: string) =>
    `refund ${reference} of ${amount} ${currency} failed at the provider`,
  providerRefund: (amount: number, currency: string, reference: string, pending: boolean) =>
    `refund of ${amount} ${currency} made at the provider (${reference})${pending ? ', pending there' : ''}`,
  disputeOpened: (reference: string, amount: number, currency: string, status: string) =>
    `dispute ${reference} of ${amount} ${currency}: ${status}`,
  disputeMoved: (reference: string, status: string) => `dispute ${reference}: ${status}`,
};
