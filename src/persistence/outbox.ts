import { randomUUID } from 'node:crypto';
import type { Order } from '../domain/order.js';
import type { Db } from './tables.js';

export const EMAIL_KINDS = ['order_confirmation', 'order_cancelled', 'order_shipped', 'order_delivered'] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

export const EVENT_TYPES = ['order.created', 'order.cancelled', 'order.status_changed', 'payment.refunded'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Stored for an email: the data its template needs; rendered when delivered. */
export interface EmailPayload {
  id: string;
  kind: EmailKind;
  to: string;
  order_id: string;
  order: Order;
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

/**
 * Writes a message in the caller's transaction, so it exists exactly when the
 * change that owes it is committed. The relay (workers/) delivers it later.
 */
export async function enqueueEmail(trx: Db, kind: EmailKind, order: Order): Promise<string | null> {
  if (!order.email) return null;
  const id = randomUUID();
  const payload: EmailPayload = { id, kind, to: order.email, order_id: order.id, order };
  await trx
    .insertInto('outbox')
    .values({ id, kind: 'email', topic: kind, payload: JSON.stringify(payload), last_error: null, delivered_at: null })
    .execute();
  return id;
}

export async function enqueueEvent(
  trx: Db,
  type: EventType,
  order: Order,
  occurredAt: Date,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const id = randomUUID();
  const payload: EventPayload = {
    id,
    type,
    occurred_at: occurredAt.toISOString(),
    order_id: order.id,
    user_id: order.user_id,
    data: { ...order, ...extra },
  };
  await trx
    .insertInto('outbox')
    .values({ id, kind: 'event', topic: type, payload: JSON.stringify(payload), last_error: null, delivered_at: null })
    .execute();
  return id;
}
