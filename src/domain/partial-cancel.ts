import { unitsKept } from './order.js';
import { priceRequestedUnits } from './requested-units.js';

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

/**
 * Checks a partial cancel against the order's lines as they are now (read under the order's row
 * lock, so a racing cancel has either committed or not started) and prices it from the order.
 * Every problem is reported at once, each at its item's path.
 */
export function planPartialCancel(requested: readonly CancelUnits[], lines: readonly CancellableLine[]): CancelPlan {
  const amount = priceRequestedUnits(requested, lines, unitsKept, 'the units not yet cancelled');
  const asked = new Map(requested.map((r) => [r.product_id, r.quantity]));
  return {
    units: requested.map((r) => ({ product_id: r.product_id, quantity: r.quantity })),
    amount,
    cancelsOrder: lines.every((l) => unitsKept(l) - (asked.get(l.product_id) ?? 0) === 0),
  };
}

/** How units read in a history note: `2 × sku_a, 1 × sku_b`. */
export const describeUnits = (units: readonly CancelUnits[]): string =>
  units.map((u) => `${u.quantity} × ${u.product_id}`).join(', ');
