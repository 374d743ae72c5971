import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import { escapeHtml, footerHtml, footerText, greeting, itemsHtml, itemsText, layout, orderNumber, p } from './parts.js';

export function orderDelivered(order: Order): RenderedEmail {
  const number = orderNumber(order);
  const subject = `Your order ${number} has been delivered`;
  const via = order.tracking ? ` by ${order.tracking.carrier} (tracking number ${order.tracking.number})` : '';
  const text = [
    greeting(order),
    '',
    `Your order ${number} has been delivered${via}. We hope you enjoy it.`,
    '',
    itemsText(order),
    '',
    footerText(order),
  ].join('\n');
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`Your order <strong>${number}</strong> has been delivered${escapeHtml(via)}. We hope you enjoy it.`),
    itemsHtml(order),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
