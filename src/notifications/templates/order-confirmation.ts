import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import {
  addressText,
  escapeHtml,
  footerHtml,
  footerText,
  greeting,
  itemsHtml,
  itemsText,
  layout,
  money,
  orderNumber,
  p,
} from './parts.js';

export function orderConfirmation(order: Order): RenderedEmail {
  const number = orderNumber(order);
  const subject = `Your order ${number} is confirmed`;
  const total = money(order, order.total);
  const address = addressText(order);
  const text = [
    greeting(order),
    '',
    `Thank you for your order ${number}. We received your payment of ${total}.`,
    '',
    itemsText(order),
    ...(address ? ['', 'Shipping to:', address] : []),
    '',
    'We will email you again when it ships.',
    '',
    footerText(order),
  ].join('\n');
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`Thank you for your order <strong>${number}</strong>. We received your payment of ${escapeHtml(total)}.`),
    itemsHtml(order),
    ...(address ? [p(`Shipping to:<br>${escapeHtml(address).replaceAll('\n', '<br>')}`)] : []),
    p('We will email you again when it ships.'),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
