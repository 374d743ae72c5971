import { describe, expect, it } from 'vitest';
import { renderEmail } from '../../src/notifications/templates/index.js';
import { makeOrder } from '../helpers/outbox/fixtures.js';

describe('email templates', () => {
  it('order_confirmation: items, per-currency amounts, address, in text and HTML', () => {
    const order = makeOrder();
    const m = renderEmail('order_confirmation', order);
    const number = order.id.replaceAll('-', '').slice(0, 8).toUpperCase();
    expect(m.subject).toBe(`Your order ${number} is confirmed`);
    for (const part of [m.text, m.html]) {
      expect(part).toContain('$52.48');
      expect(part).toContain('$39.98');
      expect(part).toContain('$12.50');
      expect(part).toContain('T-shirt');
      expect(part).toContain('Springfield');
      expect(part).toContain(order.id);
    }
    expect(m.text).toContain('Hello Alice Liddell,');
    expect(m.html).toMatch(/^<!doctype html>/);
  });

  it('formats zero- and three-decimal currencies by their exponent', () => {
    const yen = makeOrder({
      currency: 'JPY',
      total: 1500,
      items: [
        {
          product_id: 'a',
          name: 'Tea',
          quantity: 3,
          unit_price: 500,
          line_total: 1500,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ],
    });
    expect(renderEmail('order_confirmation', yen).text).toContain('¥1,500');
    const kwd = makeOrder({
      currency: 'KWD',
      total: 1234,
      items: [
        {
          product_id: 'a',
          name: 'Tea',
          quantity: 1,
          unit_price: 1234,
          line_total: 1234,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ],
    });
    expect(renderEmail('order_confirmation', kwd).text).toMatch(/KWD\s1\.234/); // Intl puts a no-break space there
  });

  it('order_cancelled mentions the refund, done or on its way', () => {
    const refunded = makeOrder({ status: 'cancelled', payment: { ...makeOrder().payment, status: 'refunded' } });
    const done = renderEmail('order_cancelled', refunded);
    expect(done.subject).toMatch(/has been cancelled$/);
    expect(done.text).toContain('We have refunded $52.48 to your original payment method.');
    expect(done.html).toContain('We have refunded $52.48');
    const pending = makeOrder({ status: 'cancelled', payment: { ...makeOrder().payment, status: 'refund_pending' } });
    expect(renderEmail('order_cancelled', pending).text).toContain(
      'A refund of $52.48 to your original payment method is on its way',
    );
    // Authorized only (capture at shipment): nothing was taken, the hold is released.
    const voided = makeOrder({
      status: 'cancelled',
      payment: { ...makeOrder().payment, status: 'voided', amount_captured: 0 },
    });
    expect(renderEmail('order_cancelled', voided).text).toContain(
      'Nothing was charged: the hold of $52.48 on your payment method is released.',
    );
  });

  it("refund_issued names the refund's own amount, not the order total", () => {
    const m = renderEmail('refund_issued', makeOrder(), { refund: { id: 'r1', amount: 1250, currency: 'USD' } });
    expect(m.subject).toMatch(/^A refund of \$12\.50 for your order /);
    expect(m.text).toContain('We have refunded $12.50 to your original payment method');
    expect(m.html).toContain('$12.50');
  });

  it('order_shipped names the carrier and the tracking number', () => {
    const m = renderEmail(
      'order_shipped',
      makeOrder({ status: 'shipped', tracking: { carrier: 'UPS', number: '1Z999AA10123456784' } }),
    );
    expect(m.subject).toMatch(/has shipped$/);
    for (const part of [m.text, m.html]) {
      expect(part).toContain('UPS');
      expect(part).toContain('1Z999AA10123456784');
    }
    expect(renderEmail('order_shipped', makeOrder({ status: 'shipped' })).text).toContain(
      'Tracking details will follow.',
    );
  });

  it('order_delivered says so', () => {
    const m = renderEmail(
      'order_delivered',
      makeOrder({ status: 'delivered', tracking: { carrier: 'DHL', number: 'JD0001' } }),
    );
    expect(m.subject).toMatch(/has been delivered$/);
    expect(m.text).toContain('has been delivered by DHL (tracking number JD0001)');
  });

  it('escapes customer-controlled text in HTML', () => {
    const order = makeOrder({
      shipping_address: {
        name: '<script>alert(1)</script>',
        line1: 'a & b',
        city: 'X',
        postal_code: '1',
        country: 'US',
      },
      items: [
        {
          product_id: 'x',
          name: '<b>bold</b>',
          quantity: 1,
          unit_price: 5248,
          line_total: 5248,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ],
    });
    const m = renderEmail('order_confirmation', order);
    expect(m.html).not.toContain('<script>');
    expect(m.html).not.toContain('<b>bold');
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(m.html).toContain('a &amp; b');
    expect(m.text).toContain('<script>alert(1)</script>'); // plain text is not HTML: left as typed
  });
});
