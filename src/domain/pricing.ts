import { DomainError, errors } from './errors.js';
import { multiply, sum } from './money.js';
import type { OrderItem } from './order.js';

export interface CatalogProduct {
  id: string;
  name: string;
  price: number;
  currency: string;
  active: boolean;
  stock: number | null;
}

export interface RequestedItem {
  product_id: string;
  quantity: number;
  unit_price?: number;
}

/**
 * Prices a cart from the catalog. The client's `unit_price`, when sent, is only
 * a check: a mismatch is refused so nobody is charged a price they did not see.
 */
export function priceItems(
  requested: readonly RequestedItem[],
  catalog: ReadonlyMap<string, CatalogProduct>,
  currency: string,
): { items: OrderItem[]; total: number } {
  const seen = new Set<string>();
  requested.forEach((r, i) => {
    if (seen.has(r.product_id)) {
      throw errors.validation([
        { path: `/items/${i}/product_id`, message: 'must not repeat a product already in items' },
      ]);
    }
    seen.add(r.product_id);
  });
  const items = requested.map((r, i): OrderItem => {
    const p = catalog.get(r.product_id);
    if (!p || !p.active) {
      throw new DomainError('unknown_product', `Product ${r.product_id} does not exist or is not for sale.`, {
        errors: [{ path: `/items/${i}/product_id`, message: 'unknown product' }],
      });
    }
    if (p.currency !== currency) {
      throw new DomainError('currency_mismatch', `Product ${p.id} is priced in ${p.currency}, not ${currency}.`, {
        errors: [{ path: `/items/${i}/product_id`, message: `priced in ${p.currency}` }],
      });
    }
    if (r.unit_price !== undefined && r.unit_price !== p.price) {
      throw new DomainError('price_changed', `The price of ${p.id} is now ${p.price}, not ${r.unit_price}.`, {
        product_id: p.id,
        current_price: p.price,
      });
    }
    return {
      product_id: p.id,
      name: p.name,
      quantity: r.quantity,
      unit_price: p.price,
      line_total: checked(() => multiply(p.price, r.quantity), `/items/${i}/quantity`),
      quantity_cancelled: 0,
      quantity_returned: 0,
    };
  });
  return { items, total: checked(() => sum(items.map((i) => i.line_total)), '/items') };
}

/** An amount too large to charge exactly is the client's problem (422), never a 500. */
function checked(compute: () => number, path: string): number {
  try {
    return compute();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw errors.validation([
      { path, message: 'makes the order total larger than the largest amount that can be charged' },
    ]);
  }
}
