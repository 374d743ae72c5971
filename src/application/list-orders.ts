import type { Order } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';
import { listOrders as listOrderRows } from '../persistence/order-repository.js';
import { decodeOrderCursor, encodeOrderCursor } from './cursor.js';
import type { Actor, Deps } from './deps.js';

/** The caller's own orders, newest first, one keyset page at a time. */
export async function listOrders(
  deps: Deps,
  actor: Actor,
  query: { limit?: number; cursor?: string; status?: OrderStatus },
): Promise<{ items: Order[]; next_cursor: string | null }> {
  const limit = query.limit ?? 20;
  const after = query.cursor ? decodeOrderCursor(query.cursor) : null;
  const rows = await listOrderRows(deps.db, actor.sub, { limit: limit + 1, after, status: query.status });
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor: rows.length > limit && last ? encodeOrderCursor({ created_at: last.created_at, id: last.id }) : null,
  };
}
