import { formatMoney } from '../../domain/money.js';
import type { Order } from '../../domain/order.js';

/** Everything interpolated into HTML goes through here: names and addresses are user input. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** The reference a customer quotes on the phone; the full id stays in the body. */
export function orderNumber(order: Pick<Order, 'id'>): string {
  return order.id.replaceAll('-', '').slice(0, 8).toUpperCase();
}

export function money(order: Pick<Order, 'currency'>, minor: number): string {
  return formatMoney(minor, order.currency);
}

export function greeting(order: Order): string {
  const name = order.shipping_address?.name?.trim();
  return name ? `Hello ${name},` : 'Hello,';
}

export function itemsText(order: Order): string {
  const lines = order.items.map((i) => `  ${i.quantity} × ${i.name} (${i.product_id})  ${money(order, i.line_total)}`);
  return [...lines, `  Total: ${money(order, order.total)}`].join('\n');
}

export function itemsHtml(order: Order): string {
  const rows = order.items
    .map(
      (i) =>
        `<tr><td>${i.quantity} × ${escapeHtml(i.name)}</td>` +
        `<td style="text-align:right">${escapeHtml(money(order, i.line_total))}</td></tr>`,
    )
    .join('');
  const total = `<tr><th style="text-align:left">Total</th><th style="text-align:right">${escapeHtml(money(order, order.total))}</th></tr>`;
  return `<table cellpadding="4" style="border-collapse:collapse">${rows}${total}</table>`;
}

export function addressText(order: Order): string | null {
  const a = order.shipping_address;
  if (!a) return null;
  const cityLine = [a.postal_code, a.city, a.state].filter(Boolean).join(' ');
  return [a.name, a.line1, a.line2, cityLine, a.country].filter(Boolean).join('\n');
}

/** Plain paragraphs → a minimal, inline-styled page (mail clients ignore <style> blocks). */
export function layout(title: string, paragraphs: string[]): string {
  const body = paragraphs.join('\n');
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family:Arial,sans-serif;color:#222;line-height:1.4">\n${body}\n</body></html>`
  );
}

export const p = (htmlContent: string): string => `<p>${htmlContent}</p>`;

export function footerText(order: Order): string {
  return `Order id: ${order.id}\nQuestions? Just reply to this email.`;
}

export function footerHtml(order: Order): string {
  return p(`<small>Order id: ${escapeHtml(order.id)}<br>Questions? Just reply to this email.</small>`);
}
