import type { Order } from '../../domain/order.js';
import type { EmailExtra, EmailKind } from '../../domain/messages.js';
import type { RenderedEmail } from '../email.js';
import { orderCancelled } from './order-cancelled.js';
import { orderConfirmation } from './order-confirmation.js';
import { orderDelivered } from './order-delivered.js';
import { orderShipped } from './order-shipped.js';
import { returnRequested } from './return-requested.js';

const TEMPLATES: Record<EmailKind, (order: Order, extra: EmailExtra) => RenderedEmail> = {
  order_confirmation: orderConfirmation,
  order_cancelled: orderCancelled,
  order_shipped: orderShipped,
  order_delivered: orderDelivered,
  return_requested: returnRequested,
};

export function isEmailKind(kind: string): kind is EmailKind {
  return Object.hasOwn(TEMPLATES, kind);
}

/**
 * Rendered at delivery, not at enqueue: the row keeps the data, so a template
 * fix reaches messages that are still waiting. The order is the snapshot taken
 * when the change committed, so the email says what was true then.
 */
export function renderEmail(kind: EmailKind, order: Order, extra: EmailExtra = {}): RenderedEmail {
  return TEMPLATES[kind](order, extra);
}
