import { errors } from '../domain/errors.js';
import type { Order } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';
import { searchOrders as searchOrderRows, type Match } from '../persistence/order-search.js';
import { decodeOrderCursor, encodeOrderCursor } from './cursor.js';
import type { Deps } from './deps.js';

export interface OrderSearchQuery {
  limit?: number;
  cursor?: string;
  status?: OrderStatus;
  user_id?: string;
  email?: string;
  created_from?: string;
  created_to?: string;
  q?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHORT_ID = /^[0-9a-f]{8}$/i;

/**
 * The readings of a free-text `q`: a whole order id, the first 8 hex digits of one (as emails show
 * them), an email, or a user id. A user id can look like any of the others (many identity providers
 * use UUIDs as `sub`), so it is always one of the readings, and an order matches if any reading does.
 */
export function readingsOf(q: string): Match[] {
  const asUser: Match = { kind: 'user', value: q };
  if (UUID.test(q)) return [{ kind: 'id', value: q.toLowerCase() }, asUser];
  if (SHORT_ID.test(q)) return [{ kind: 'id_prefix', value: q.toLowerCase() }, asUser];
  if (q.includes('@')) return [{ kind: 'email', value: q.toLowerCase() }, asUser];
  return [asUser];
}

/** Support's search over every customer's orders, newest first, one keyset page at a time (admins only: the route's scope checks). */
export async function searchOrders(
  deps: Deps,
  query: OrderSearchQuery,
): Promise<{ items: Order[]; next_cursor: string | null }> {
  const { created_from: from, created_to: to } = query;
  if (from && to && Date.parse(from) > Date.parse(to)) {
    throw errors.validation(
      [{ path: '/querystring/created_from', message: 'must not be after created_to' }],
      'created_from is after created_to.',
    );
  }
  const limit = query.limit ?? 20;
  const after = query.cursor ? decodeOrderCursor(query.cursor) : null;
  const all: Match[] = [];
  if (query.status) all.push({ kind: 'status', value: query.status });
  if (query.user_id) all.push({ kind: 'user', value: query.user_id });
  if (query.email) all.push({ kind: 'email', value: query.email.toLowerCase() });
  const any = query.q ? readingsOf(query.q.trim()) : [];
  const rows = await searchOrderRows(deps.db, { all, any, from, to, after, limit: limit + 1 });
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor: rows.length > limit && last ? encodeOrderCursor({ created_at: last.created_at, id: last.id }) : null,
  };
}
