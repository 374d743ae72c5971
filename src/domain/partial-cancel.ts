import { errors, type FieldError } from './errors.js';
import { multiply, sum } from './money.js';

/** An order line as a cancel sees it. */
export interface CancellableLine {
  product_id: string;
  unit_price: number;
  quantity: number;
  quantity_cancelled: number;
  quantity_returned: number;
}

export interface CancelUnits {
  product_id: string;
  quantity: number;
}

export interface CancelPlan {
  /** The units to cancel, in the order they were asked for. */
  units: CancelUnits[];
  /** What those units cost: refunded (immediate capture) or never captured (shipment capture). */
  amount: number;
  /** True when no unit of the order remains after this cancel: the order itself is cancelled. */
  cancelsOrder: boolean;
}

const remaining = (l: CancellableLine) => l.quantity - l.quantity_cancelled - l.quantity_returned;

/**
 * Checks a partial cancel against the order's lines as they are now (read under the order's row
 * lock, so a racing cancel has either committed or not started) and prices it from the order.
 * Every problem is reported at once, each at its item's path.
 */
export function planPartialCancel(requested: readonly CancelUnits[], lines: readonly CancellableLine[]): CancelPlan {
  const byProduct = new Map(lines.map((l) => [l.product_id, l]));
  const seen = new Set<string>();
  const problems: FieldError[] = [];
  const amounts: number[] = [];
  requested.forEach((r, i) => {
    const line = byProduct.get(r.product_id);
    if (seen.has(r.product_id)) problems.push({ path: `/items/${i}/product_id`, message: 'must not repeat a product already in items' });
    else if (!line) problems.push({ path: `/items/${i}/product_id`, message: 'is not in the order' });
    else if (r.quantity > remaining(line)) {
      problems.push({ path: `/items/${i}/quantity`, message: `must be at most ${remaining(line)}, the units not yet cancelled` });
    } else amounts.push(multiply(line.unit_price, r.quantity));
    seen.add(r.product_id);
  });
  if (problems.length > 0) throw errors.invalidItems(problems);
  const asked = new Map(requested.map((r) => [r.product_id, r.quantity]));
  return {
    units: requested.map((r) => ({ product_id: r.product_id, quantity: r.quantity })),
    amount: sum(amounts),
    cancelsOrder: lines.every((l) => remaining(l) - (asked.get(l.product_id) ?? 0) === 0),
  };
}
