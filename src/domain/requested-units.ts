import { errors, type FieldError } from './errors.js';
import { multiply, sum } from './money.js';

/** Units of one product a client asks to act on (cancel, return). */
export interface RequestedUnits {
  product_id: string;
  quantity: number;
}

/**
 * Checks requested units against an order's lines: each product at most once, in the order, and no
 * more units than `available(line)`, which `unitsLeft` names in the message. Every problem is
 * reported at once, each at its item's path (422 invalid_items); otherwise the units' price, from
 * the order and never from the client.
 */
export function priceRequestedUnits<L extends { product_id: string; unit_price: number }>(
  requested: readonly RequestedUnits[],
  lines: readonly L[],
  available: (line: L) => number,
  unitsLeft: string,
): number {
  const byProduct = new Map(lines.map((l) => [l.product_id, l]));
  const seen = new Set<string>();
  const problems: FieldError[] = [];
  const amounts: number[] = [];
  requested.forEach((r, i) => {
    const line = byProduct.get(r.product_id);
    if (seen.has(r.product_id))
      problems.push({ path: `/items/${i}/product_id`, message: 'must not repeat a product already in items' });
    else if (!line) problems.push({ path: `/items/${i}/product_id`, message: 'is not in the order' });
    else if (r.quantity > available(line)) {
      problems.push({
        path: `/items/${i}/quantity`,
        message: `must be at most ${Math.max(0, available(line))}, ${unitsLeft}`,
      });
    } else amounts.push(multiply(line.unit_price, r.quantity));
    seen.add(r.product_id);
  });
  if (problems.length > 0) throw errors.invalidItems(problems);
  return sum(amounts);
}
