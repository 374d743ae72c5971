import { describe, expect, it } from 'vitest';
import type { Return } from '../../src/domain/returns.js';
import { renderEmail } from '../../src/notifications/templates/index.js';
import { makeOrder } from '../helpers/outbox/fixtures.js';

const aReturn = (over: Partial<Return> = {}): Return => ({
  id: '00000000-0000-4000-8000-0000000000aa',
  order_id: makeOrder().id,
  status: 'requested',
  items: [{ product_id: 'sku_tshirt', quantity: 1 }],
  refund_amount: 1999,
  reason: null,
  note: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('return emails', () => {
  it('return_requested lists the units and the refund to come, in text and HTML', () => {
    const order = makeOrder();
    const m = renderEmail('return_requested', order, { return: aReturn() });
    expect(m.subject).toMatch(/^Your return for order [0-9A-F]{8} is registered$/);
    for (const part of [m.text, m.html]) {
      expect(part).toContain('T-shirt');
      expect(part).toContain('$19.99');
      expect(part).toContain(order.id);
    }
    expect(m.text).toContain('we will refund $19.99');
    expect(m.html).toMatch(/^<!doctype html>/);
  });

  it('formats the refund by the currency’s exponent', () => {
    const yen = makeOrder({
      currency: 'JPY',
      total: 1500,
      items: [
        {
          product_id: 'tea',
          name: 'Tea',
          quantity: 3,
          unit_price: 500,
          line_total: 1500,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ],
    });
    const m = renderEmail('return_requested', yen, {
      return: aReturn({ items: [{ product_id: 'tea', quantity: 2 }], refund_amount: 1000 }),
    });
    expect(m.text).toContain('¥1,000');
    expect(m.html).toContain('¥1,000');
  });

  it('escapes product names in HTML', () => {
    const order = makeOrder({
      items: [
        {
          product_id: 'x',
          name: '<img src=x>',
          quantity: 1,
          unit_price: 5,
          line_total: 5,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ],
    });
    const m = renderEmail('return_requested', order, {
      return: aReturn({ items: [{ product_id: 'x', quantity: 1 }], refund_amount: 5 }),
    });
    expect(m.html).not.toContain('<img');
    expect(m.html).toContain('&lt;img src=x&gt;');
  });

  it('without its return it cannot be rendered (the relay parks such a row as dead)', () => {
    expect(() => renderEmail('return_requested', makeOrder())).toThrow(/needs its return/);
  });
});

describe('refund emails', () => {
  it('refund_issued names the amount refunded, in text and HTML', () => {
    const order = makeOrder();
    const m = renderEmail('refund_issued', order, {
      refund: { id: '00000000-0000-4000-8000-0000000000bb', amount: 1250, currency: 'USD' },
    });
    expect(m.subject).toMatch(/^A refund of \$12\.50 for your order [0-9A-F]{8}$/);
    for (const part of [m.text, m.html]) {
      expect(part).toContain('We have refunded $12.50 to your original payment method.');
      expect(part).toContain(order.id);
    }
    expect(m.html).toMatch(/^<!doctype html>/);
  });

  it.each([
    ['JPY', 1500, '¥1,500'],
    ['KWD', 1234, /KWD\s1\.234/],
  ])('formats a %s refund by the currency’s exponent', (currency, amount, shown) => {
    const m = renderEmail('refund_issued', makeOrder({ currency }), { refund: { id: 'x', amount, currency } });
    expect(m.text).toMatch(shown instanceof RegExp ? shown : new RegExp(shown.replace(/[$.]/g, '\\$&')));
  });

  it('without its refund it cannot be rendered', () => {
    expect(() => renderEmail('refund_issued', makeOrder())).toThrow(/needs its refund/);
  });
});
