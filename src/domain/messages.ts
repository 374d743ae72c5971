/**
 * What the service owes the outside world after a change: the emails and
 * events, built here and written by persistence/outbox.ts in the change's own
 * transaction (docs/adr/0002).
 */
import { newId } from './ids.js';
import type { Order } from './order.js';
import type { CancelUnits } from './partial-cancel.js';
import type { Return } from './returns.js';

export const EMAIL_KINDS = [
  'order_confirmation',
  'order_cancelled',
  'order_shipped',
  'order_delivered',
  'return_requested',
  'refund_issued',
] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

export const EVENT_TYPES = [
  'order.created',
  'order.cancelled',
  'order.status_changed',
  'payment.refunded',
  'payment.captured',
  'payment.voided',
  'order.return_requested',
  'order.return_received',
  'order.return_rejected',
  'order.items_cancelled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Stored for an email: the data its template needs; rendered when delivered. */
export interface EmailPayload {
  id: string;
  kind: EmailKind;
  to: string;
  order_id: string;
  order: Order;
  /** What the template needs beyond the order (the return or refund the email is about). */
  extra?: EmailExtra;
}

export interface EmailExtra {
  return?: Return;
  /** The refund a `refund_issued` email is about. */
  refund?: RefundNote;
}

/** A refund as messages name it (`payment.refunded` carries the same). */
export interface RefundNote {
  id: string;
  amount: number;
  currency: string;
}

/** Stored for an event: exactly the message body other services receive. */
export interface EventPayload {
  id: string;
  type: EventType;
  occurred_at: string;
  order_id: string;
  user_id: string;
  /** The order as the API returns it; `order.status_changed` adds `from` and `to`. */
  data: Order & Record<string, unknown>;
}

/** A message row, built but not yet written: `enqueueAll` writes several in one statement. */
export interface OutboxMessage {
  id: string;
  kind: 'email' | 'event';
  topic: string;
  payload: string;
}

export function emailMessage(kind: EmailKind, order: Order, extra?: EmailExtra): OutboxMessage | null {
  if (!order.email) return null;
  const id = newId();
  const payload: EmailPayload = { id, kind, to: order.email, order_id: order.id, order, ...(extra && { extra }) };
  return { id, kind: 'email', topic: kind, payload: JSON.stringify(payload) };
}

export function eventMessage(
  type: EventType,
  order: Order,
  occurredAt: Date,
  extra: Record<string, unknown> = {},
): OutboxMessage {
  const id = newId();
  const payload: EventPayload = {
    id,
    type,
    occurred_at: occurredAt.toISOString(),
    order_id: order.id,
    user_id: order.user_id,
    data: { ...order, ...extra },
  };
  return { id, kind: 'event', topic: type, payload: JSON.stringify(payload) };
}

/** Where a message stands: owed, sent, or given up on after its last attempt (an admin may retry it). */
export const OUTBOX_STATUSES = ['pending', 'delivered', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** What a new order owes: the confirmation email (when there is an address) and `order.created`. */
export const newOrderMessages = (order: Order, at: Date): OutboxMessage[] =>
  [emailMessage('order_confirmation', order), eventMessage('order.created', order, at)].filter((m) => m !== null);

/** The contract's event for a partial cancel: the order, with `items` the units this cancel took out. */
export const itemsCancelledEvent = (
  order: Order,
  units: readonly CancelUnits[],
  reason: string | null,
  at: Date,
): OutboxMessage => eventMessage('order.items_cancelled', order, at, { items: units, ...(reason ? { reason } : {}) });

/** What a refund the provider confirmed owes: `payment.refunded` with the refund, and the `refund_issued` email. */
export function refundMessages(
  order: Order,
  refund: { id: string; amount: number; currency: string },
  at: Date,
): OutboxMessage[] {
  return [
    eventMessage('payment.refunded', order, at, { refund }),
    emailMessage('refund_issued', order, { refund }),
  ].filter((m) => m !== null);
}
