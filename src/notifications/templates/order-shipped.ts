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
  orderNumber,
  p,
} from './parts.js';

export function orderShipped(order: Order): RenderedEmail {
  const number = orderNumber(order);
  const subject = `Your order ${number} has shipped`;
  const t = order.tracking;
  // The tracking route normally sets it with the move to shipped; say so plainly when it did not.
  const tracking = t ? `Carrier: ${t.carrier}\nTracking number: ${t.number}` : 'Tracking details will follow.';
  const address = addressText(order);
  const text = [
    greeting(order),
    '',
    `Good news: your order ${number} is on its way.`,
    '',
    tracking,
    ...(address ? ['', 'Shipping to:', address] : []),
    '',
    itemsText(order),
    '',
    footerText(order),
  ].join('\n');
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`Good news: your order <strong>${number}</strong> is on its way.`),
    p(escapeHtml(tracking).replaceAll('\n', '<br>')),
    ...(address ? [p(`Shipping to:<br>${escapeHtml(address).replaceAll('\n', '<br>')}`)] : []),
    itemsHtml(order),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
