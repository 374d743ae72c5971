import type { EmailExtra } from '../../domain/messages.js';
import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import { escapeHtml, footerHtml, footerText, greeting, layout, money, orderNumber, p } from './parts.js';

/** A refund the provider confirmed (ours, or one made at its dashboard), with its own amount. */
export function refundIssued(order: Order, extra: EmailExtra): RenderedEmail {
  const refund = extra.refund;
  if (!refund) throw new Error('a refund_issued email needs its refund');
  const number = orderNumber(order);
  const amount = money(order, refund.amount);
  const subject = `We refunded ${amount} for order ${number}`;
  const sentence = `We have refunded ${amount} for your order ${number} to your original payment method; it can take a few days to appear.`;
  const text = [greeting(order), '', sentence, '', footerText(order)].join('\n');
  const html = layout(subject, [p(escapeHtml(greeting(order))), p(escapeHtml(sentence)), footerHtml(order)]);
  return { subject, text, html };
}
