import type { EmailExtra } from '../../domain/messages.js';
import { formatMoney } from '../../domain/money.js';
import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import { escapeHtml, footerHtml, footerText, greeting, layout, orderNumber, p } from './parts.js';

/** A refund the provider confirmed: how much, to where. */
export function refundIssued(order: Order, extra: EmailExtra): RenderedEmail {
  const refund = extra.refund;
  if (!refund) throw new Error('a refund_issued email needs its refund');
  const number = orderNumber(order);
  const amount = formatMoney(refund.amount, refund.currency);
  const subject = `A refund of ${amount} for your order ${number}`;
  const sentence = `We have refunded ${amount} to your original payment method. It can take a few days to appear on your statement.`;
  const text = [greeting(order), '', `Your order ${number}: ${sentence}`, '', footerText(order)].join('\n');
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`Your order <strong>${number}</strong>: ${escapeHtml(sentence)}`),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
