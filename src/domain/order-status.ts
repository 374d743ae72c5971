/** The one table of legal moves. Everything else asks it. */
export const ORDER_STATUSES = [
  'awaiting_payment',
  'pending',
  'processing',
  'shipped',
  'delivered',
  'cancelled',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  // Waits for its customer (3-D Secure, a redirect, an approval): paid, it is placed; else it ends.
  awaiting_payment: ['pending', 'cancelled'],
  pending: ['processing', 'cancelled'],
  processing: ['shipped'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses the admin tracking route may set; `cancelled` goes only through the cancel route. */
export const TRACKING_STATUSES = ['processing', 'shipped', 'delivered'] as const;
export type TrackingStatus = (typeof TRACKING_STATUSES)[number];
