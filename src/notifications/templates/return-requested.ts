import type { EmailExtra } from '../../domain/messages.js';
import { multiply } from '../../domain/money.js';
import type { Order } from '../../domain/order.js';
import type { RenderedEmail } from '../email.js';
import { escapeHtml, footerHtml, footerText, greeting, layout, money, orderNumber, p } from './parts.js';

/** The units asked back, named as the order names them (the return itself holds only ids). */
function returnedLines(order: Order, extra: EmailExtra): { label: string; amount: string }[] {
  const r = extra.return;
  if (!r) throw new Error('a return_requested email needs its return');
  return r.items.map((i) => {
    const item = order.items.find((o) => o.product_id === i.product_id);
    const name = item ? `${item.name} (${i.product_id})` : i.product_id;
    return {
      label: `${i.quantity} × ${name}`,
      amount: item ? money(order, multiply(item.unit_price, i.quantity)) : '',
    };
  });
}

export function returnRequested(order: Order, extra: EmailExtra): RenderedEmail {
  const number = orderNumber(order);
  const lines = returnedLines(order, extra);
  const refund = money(order, extra.return?.refund_amount ?? 0);
  const subject = `Your return for order ${number} is registered`;
  const sentence = `Once we have received the items, we will refund ${refund} to your original payment method.`;
  const text = [
    greeting(order),
    '',
    `We have registered your return for order ${number}:`,
    ...lines.map((l) => `  ${l.label}  ${l.amount}`),
    `  Refund: ${refund}`,
    '',
    sentence,
    '',
    footerText(order),
  ].join('\n');
  const rows = lines
    .map((l) => `<tr><td>${escapeHtml(l.label)}</td><td style="text-align:right">${escapeHtml(l.amount)}</td></tr>`)
    .join('');
  const total = `<tr><th style="text-align:left">Refund</th><th style="text-align:right">${escapeHtml(refund)}</th></tr>`;
  const html = layout(subject, [
    p(escapeHtml(greeting(order))),
    p(`We have registered your return for order <strong>${number}</strong>:`),
    `<table cellpadding="4" style="border-collapse:collapse">${rows}${total}</table>`,
    p(escapeHtml(sentence)),
    footerHtml(order),
  ]);
  return { subject, text, html };
}
