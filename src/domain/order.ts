import { errors } from './errors.js';
import { canTransition, type OrderStatus } from './order-status.js';
import type { CancelUnits } from './partial-cancel.js';
import type { NextAction, PaymentAmounts, ProviderId } from './payment.js';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  state?: string | null;
  postal_code: string;
  country: string;
}

export interface Tracking {
  carrier: string;
  number: string;
}

export interface OrderItem {
  product_id: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
  quantity_cancelled: number;
  quantity_returned: number;
}

/** The order's payment: its identity and, derived from its ledger, status and amounts. */
export interface PaymentSummary extends PaymentAmounts {
  transaction_id: string;
  provider: ProviderId;
  provider_reference: string | null;
  amount: number;
  currency: string;
  /** Null unless the payment waits for its customer (`requires_action`). */
  next_action: NextAction | null;
}

/** The order exactly as the API returns it (and as events carry it). */
export interface Order {
  id: string;
  user_id: string;
  status: OrderStatus;
  currency: string;
  items: OrderItem[];
  total: number;
  /** What the order still owes: its units not cancelled nor returned, at their prices. */
  current_total: number;
  payment: PaymentSummary;
  email: string | null;
  shipping_address: ShippingAddress | null;
  tracking: Tracking | null;
  created_at: string;
  updated_at: string;
}

export interface StatusChange {
  from: OrderStatus;
  to: OrderStatus;
  at: string;
  actor: string;
  note: string | null;
}

/**
 * Every transition goes through here: it checks the table, and returns the new
 * order and the change to record. An illegal move always throws.
 */
export function transition(
  order: Order,
  to: OrderStatus,
  actor: string,
  at: Date,
  note: string | null = null,
  tracking?: Tracking | null,
): { order: Order; change: StatusChange } {
  if (!canTransition(order.status, to)) {
    throw to === 'cancelled' ? errors.notCancellable(order.status) : errors.invalidTransition(order.status, to);
  }
  const iso = at.toISOString();
  return {
    order: {
      ...order,
      status: to,
      tracking: tracking === undefined ? order.tracking : tracking,
      updated_at: iso,
    },
    change: { from: order.status, to, at: iso, actor, note },
  };
}

/**
 * The whole order cancelled (a legal move, or it throws): every unit still kept is cancelled and
 * goes back on the shelf; units cancelled or returned before gave theirs already.
 */
export function cancelWhole(
  order: Order,
  actor: string,
  at: Date,
  reason: string | null,
): { order: Order; change: StatusChange; restock: CancelUnits[] } {
  const { order: next, change } = transition(order, 'cancelled', actor, at, reason);
  return {
    order: {
      ...next,
      current_total: 0,
      items: next.items.map((i) => ({ ...i, quantity_cancelled: i.quantity - i.quantity_returned })),
    },
    change,
    restock: order.items
      .map((i) => ({ product_id: i.product_id, quantity: unitsKept(i) }))
      .filter((u) => u.quantity > 0),
  };
}

/** The units of a line the customer still keeps: neither cancelled nor returned. */
export const unitsKept = (line: Pick<OrderItem, 'quantity' | 'quantity_cancelled' | 'quantity_returned'>): number =>
  line.quantity - line.quantity_cancelled - line.quantity_returned;

/** Σ unit_price × units still kept. */
export function currentTotal(items: readonly OrderItem[]): number {
  return items.reduce((sum, i) => sum + i.unit_price * unitsKept(i), 0);
}

export function isOwnerOrAdmin(order: Pick<Order, 'user_id'>, user: { sub: string; isAdmin: boolean }): boolean {
  return user.isAdmin || order.user_id === user.sub;
}
