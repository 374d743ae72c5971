import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { MAX_AMOUNT } from '../../src/domain/money.js';
import { priceItems, type CatalogProduct } from '../../src/domain/pricing.js';

const product = (id: string, price: number, extra: Partial<CatalogProduct> = {}): CatalogProduct => ({
  id,
  name: `Name of ${id}`,
  price,
  currency: 'USD',
  active: true,
  stock: null,
  ...extra,
});

const catalog = new Map<string, CatalogProduct>([
  ['tee', product('tee', 1999)],
  ['mug', product('mug', 850, { stock: 3 })],
  ['old', product('old', 500, { active: false })],
  ['yen', product('yen', 1200, { currency: 'JPY' })],
  ['free', product('free', 0)],
  ['huge', product('huge', MAX_AMOUNT)],
  ['half', product('half', Math.floor(MAX_AMOUNT / 2) + 1)],
]);

function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

describe('priceItems', () => {
  it('prices every line from the catalog and totals them', () => {
    const { items, total } = priceItems(
      [
        { product_id: 'tee', quantity: 2 },
        { product_id: 'mug', quantity: 3 },
      ],
      catalog,
      'USD',
    );
    expect(items).toEqual([
      {
        product_id: 'tee',
        name: 'Name of tee',
        quantity: 2,
        unit_price: 1999,
        line_total: 3998,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
      {
        product_id: 'mug',
        name: 'Name of mug',
        quantity: 3,
        unit_price: 850,
        line_total: 2550,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ]);
    expect(total).toBe(6548);
  });

  it('keeps the order of the request', () => {
    const { items } = priceItems(
      [
        { product_id: 'mug', quantity: 1 },
        { product_id: 'tee', quantity: 1 },
      ],
      catalog,
      'USD',
    );
    expect(items.map((i) => i.product_id)).toEqual(['mug', 'tee']);
  });

  it('accepts a unit_price equal to the catalog price, and a free product', () => {
    const { total } = priceItems(
      [
        { product_id: 'tee', quantity: 1, unit_price: 1999 },
        { product_id: 'free', quantity: 5 },
      ],
      catalog,
      'USD',
    );
    expect(total).toBe(1999);
  });

  it.each([1998, 2000, 0])('refuses a unit_price of %i when the catalog says 1999 (price_changed)', (sent) => {
    const e = domainError(() => priceItems([{ product_id: 'tee', quantity: 1, unit_price: sent }], catalog, 'USD'));
    expect(e.code).toBe('price_changed');
    expect(e.status).toBe(409);
    expect(e.extra).toMatchObject({ product_id: 'tee', current_price: 1999 });
  });

  it.each([
    ['missing', 'nope'],
    ['inactive', 'old'],
  ])('a %s product is unknown_product, pointing at the line', (_what, id) => {
    const e = domainError(() =>
      priceItems(
        [
          { product_id: 'tee', quantity: 1 },
          { product_id: id, quantity: 1 },
        ],
        catalog,
        'USD',
      ),
    );
    expect(e.code).toBe('unknown_product');
    expect(e.status).toBe(422);
    expect(e.extra.errors).toEqual([{ path: '/items/1/product_id', message: expect.any(String) }]);
  });

  it('a product priced in another currency is currency_mismatch', () => {
    const e = domainError(() => priceItems([{ product_id: 'yen', quantity: 1 }], catalog, 'USD'));
    expect(e.code).toBe('currency_mismatch');
    expect(e.status).toBe(422);
    expect(e.extra.errors).toEqual([{ path: '/items/0/product_id', message: expect.any(String) }]);
    expect(priceItems([{ product_id: 'yen', quantity: 2 }], catalog, 'JPY').total).toBe(2400);
  });

  it('a product listed twice is a validation_error on the repeat', () => {
    const e = domainError(() =>
      priceItems(
        [
          { product_id: 'tee', quantity: 1 },
          { product_id: 'mug', quantity: 1 },
          { product_id: 'tee', quantity: 2 },
        ],
        catalog,
        'USD',
      ),
    );
    expect(e.code).toBe('validation_error');
    expect(e.status).toBe(422);
    expect(e.extra.errors).toEqual([{ path: '/items/2/product_id', message: expect.any(String) }]);
  });

  it('a line total beyond the largest amount is a validation_error, not a crash', () => {
    const e = domainError(() => priceItems([{ product_id: 'huge', quantity: 2 }], catalog, 'USD'));
    expect(e.code).toBe('validation_error');
    expect(e.extra.errors).toEqual([{ path: '/items/0/quantity', message: expect.any(String) }]);
  });

  it('an order total beyond the largest amount is a validation_error, not a crash', () => {
    const e = domainError(() =>
      priceItems(
        [
          { product_id: 'half', quantity: 1 },
          { product_id: 'huge', quantity: 1 },
        ],
        catalog,
        'USD',
      ),
    );
    expect(e.code).toBe('validation_error');
    expect(e.extra.errors).toEqual([{ path: '/items', message: expect.any(String) }]);
  });

  it('the largest amount itself is fine', () => {
    expect(priceItems([{ product_id: 'huge', quantity: 1 }], catalog, 'USD').total).toBe(MAX_AMOUNT);
  });
});
