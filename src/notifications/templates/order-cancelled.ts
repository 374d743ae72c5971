import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import {
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

/** The refund sentence: confirmed by the provider, or still on its way (refund_pending); nothing taken yet (an authorization released). */
function refundSentence(order: Order): string {
  const amount = money(order, order.payment.amount);
  if (order.payment.amount_captured === 0)
    return `Nothing was charged: the hold of ${amount} on your payment method is released.`;
  return order.payment.status === 'refunded'
    ? `We have refunded ${amount} to your original payment method.`
    : `A refund of ${amount} to your original payment method is on its way; it can take a few days to appear.`;
}

export function orderCancelled(order: Order): RenderedEmail {
  const number = orderNumber(order);
  const subject = `Your order ${number} has been cancelled`;
  const refund = refundSentence(order);
  const text = [
    greeting(order),
    '',
    `Your order ${number} has been cancelled. ${refund}`,
    '',
    'Cancelled items:',
    itemsText(order),
    '',
    footerText(order),
  ].join('\n');
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`Your order <strong>${number}</strong> has been cancelled. ${escapeHtml(refund)}`),
    p('Cancelled items:'),
    itemsHtml(order),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
