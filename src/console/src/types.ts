interface Item {
  product_id: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
  quantity_cancelled?: number;
  quantity_returned?: number;
}
export interface Order {
  id: string;
  user_id: string;
  status: string;
  currency: string;
  items: Item[];
  total: number;
  current_total?: number;
  payment: Record<string, unknown> & {
    status: string;
    amount: number;
    currency: string;
    provider: string;
    /** While the customer has still to complete the payment (3-D Secure, a redirect, an approval). */
    next_action?: { url: string | null; expires_at: string } | null;
  };
  email: string | null;
  tracking: { carrier: string; number: string } | null;
  created_at: string;
  updated_at: string;
}
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
export interface HistoryEntry {
  status: string;
  at: string;
  actor: string;
  note: string | null;
}
export interface LedgerEntry {
  id: string;
  kind: string;
  amount: number;
  currency: string;
  status: string;
  reason: string | null;
  actor: string;
  created_at: string;
}
export interface Return {
  id: string;
  status: string;
  items: { product_id: string; quantity: number }[];
  refund_amount: number;
  reason: string | null;
  note: string | null;
  created_at: string;
}
export interface OutboxItem {
  id: string;
  kind: string;
  topic: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
}
