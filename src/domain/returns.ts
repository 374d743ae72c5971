import { DomainError } from './errors.js';
import { priceRequestedUnits } from './requested-units.js';

/** A return's life: asked for, then received (refunded) or rejected. The only table of its moves. */
export const RETURN_STATUSES = ['requested', 'received', 'rejected'] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

const TRANSITIONS: Record<ReturnStatus, readonly ReturnStatus[]> = {
  requested: ['received', 'rejected'],
  received: [],
  rejected: [],
};

export function canMoveReturn(from: ReturnStatus, to: ReturnStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export interface ReturnItem {
  product_id: string;
  quantity: number;
}

/** A returned unit's price is the order's, fixed when the return is asked for. */
export interface PricedReturnItem extends ReturnItem {
  unit_price: number;
}

/** A return exactly as the API returns it (and as events carry it). */
export interface Return {
  id: string;
  order_id: string;
  status: ReturnStatus;
  items: ReturnItem[];
  refund_amount: number;
  reason: string | null;
  note: string | null;
  created_at: string;
  updated_at: string;
}

/** Every move goes through here; an illegal one always throws. */
export function moveReturn(r: Return, to: ReturnStatus, at: Date, note: string | null): Return {
  if (!canMoveReturn(r.status, to)) {
    throw new DomainError('invalid_transition', `A return cannot move from ${r.status} to ${to}.`);
  }
  return { ...r, status: to, note: note ?? r.note, updated_at: at.toISOString() };
}

/** Whether `now` is still within `windowDays` of the delivery. */
export function withinReturnWindow(deliveredAt: Date, now: Date, windowDays: number): boolean {
  return now.getTime() <= deliveredAt.getTime() + windowDays * 24 * 3600_000;
}

/** What the order holds of one product, as far as returns are concerned. */
export interface ReturnableLine {
  product_id: string;
  unit_price: number;
  /** Units that reached the customer: ordered minus cancelled. */
  delivered: number;
  /** Units already in returns that are not rejected (requested or received). */
  inReturns: number;
}

/**
 * Checks the requested units against what may still be returned and prices them from the order
 * (never from the client). Every problem is reported at once, each at its item's path.
 */
export function priceReturn(
  requested: readonly ReturnItem[],
  lines: readonly ReturnableLine[],
): { items: PricedReturnItem[]; refund_amount: number } {
  const refund_amount = priceRequestedUnits(
    requested,
    lines,
    (l) => l.delivered - l.inReturns,
    'the units that can still be returned',
  );
  const byProduct = new Map(lines.map((l) => [l.product_id, l]));
  const items = requested.map((r) => ({
    product_id: r.product_id,
    quantity: r.quantity,
    unit_price: byProduct.get(r.product_id)?.unit_price ?? 0,
  }));
  return { items, refund_amount };
}
