import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Order } from '../domain/order.js';
import { compileByShape, slot } from './compiled.js';
import { MAX_PAGE_ROWS, orderQuery, toOrder, type OrderPosition } from './order-repository.js';
import type { Database, Db } from './tables.js';

/** One way of matching: each is a condition an index answers in page order (006-admin-search-indexes). */
export type Match =
  | { kind: 'status'; value: string }
  | { kind: 'user'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'id'; value: string }
  | { kind: 'id_prefix'; value: string };

export interface OrderSearch {
  /** Every one must hold. */
  all: Match[];
  /** At least one must hold (a free-text `q` that can be read several ways); empty = no such condition. */
  any: Match[];
  from?: string;
  to?: string;
  after: OrderPosition | null;
  limit: number;
}

function conditionOf(m: Match, name: string): RawBuilder<boolean> {
  switch (m.kind) {
    case 'status':
      return sql<boolean>`o.status = ${slot(name)}`;
    case 'user':
      return sql<boolean>`o.user_id = ${slot(name)}`;
    case 'email':
      // The same expression as the index; the value is lower-cased by the caller.
      return sql<boolean>`lower(o.email) = ${slot(name)}`;
    case 'id':
      return sql<boolean>`o.id = ${slot(name)}::uuid`;
    case 'id_prefix':
      // The first 8 hex digits, as emails show them: a range of the primary key, not a text match.
      return sql<boolean>`o.id between (${slot(name)} || '-0000-0000-0000-000000000000')::uuid and (${slot(name)} || '-ffff-ffff-ffff-ffffffffffff')::uuid`;
  }
}

const shapeOf = (s: OrderSearch) =>
  [s.all.map((m) => m.kind).join(','), s.any.map((m) => m.kind).join(','), !!s.from, !!s.to, !!s.after].join('|');

/**
 * The ids of one branch: the filters, the keyset position, the page order and the constant cut
 * (MAX_PAGE_ROWS, as the customer's list does, so that each shape keeps one generic plan).
 */
function branch(db: Kysely<Database>, all: Match[], one: Match | null, from: boolean, to: boolean, after: boolean) {
  const conditions = all.map((m, i) => conditionOf(m, `all${i}`));
  if (one) conditions.push(conditionOf(one, `any:${one.kind}`));
  if (from) conditions.push(sql<boolean>`o.created_at >= ${slot('from')}::timestamptz`);
  if (to) conditions.push(sql<boolean>`o.created_at < ${slot('to')}::timestamptz`);
  if (after)
    conditions.push(sql<boolean>`(o.created_at, o.id) < (${slot('created_at')}::timestamptz, ${slot('id')}::uuid)`);
  let q = db.selectFrom('orders as o').select(['o.id', 'o.created_at']);
  for (const c of conditions) q = q.where(c);
  return q.orderBy('o.created_at', 'desc').orderBy('o.id', 'desc').limit(sql.lit(MAX_PAGE_ROWS));
}

/**
 * One statement per shape (which filters, which readings of `q`, a cursor or not), compiled once.
 * A `q` read several ways is a UNION of one index scan per reading, each cut at MAX_PAGE_ROWS, rather
 * than an OR that no single index answers in page order; the page is then cut at the requested size
 * and joined to the whole order.
 */
const searchQuery = compileByShape((db, shape: string) => {
  const [allKinds = '', anyKinds = '', from, to, after] = shape.split('|');
  const all = allKinds ? allKinds.split(',').map((kind) => ({ kind }) as Match) : [];
  const any = anyKinds ? anyKinds.split(',').map((kind) => ({ kind }) as Match) : [];
  const b = (one: Match | null) => branch(db, all, one, from === 'true', to === 'true', after === 'true');
  const branches = any.length ? any.map((m) => b(m)) : [b(null)];
  let keys = db.selectFrom(branches[0]!.as('b0')).select(['b0.id', 'b0.created_at']);
  branches.slice(1).forEach((other, i) => {
    const alias = `b${i + 1}` as 'b0';
    keys = keys.union(db.selectFrom(other.as(alias)).select([`${alias}.id`, `${alias}.created_at`]));
  });
  const page = db
    .selectFrom(keys.as('u'))
    .select(['u.id', 'u.created_at'])
    .orderBy('u.created_at', 'desc')
    .orderBy('u.id', 'desc')
    .limit(slot('limit') as unknown as number);
  return orderQuery(db).innerJoin(page.as('k'), 'k.id', 'o.id').orderBy('k.created_at', 'desc').orderBy('k.id', 'desc');
});

/** Every customer's orders matching the search, newest first, strictly after `after`. */
export async function searchOrders(db: Db, s: OrderSearch): Promise<Order[]> {
  if (s.limit > MAX_PAGE_ROWS) throw new RangeError(`a page holds at most ${MAX_PAGE_ROWS} rows`);
  const values: Record<string, unknown> = {
    limit: s.limit,
    from: s.from,
    to: s.to,
    created_at: s.after?.created_at,
    id: s.after?.id,
  };
  s.all.forEach((m, i) => (values[`all${i}`] = m.value));
  s.any.forEach((m) => (values[`any:${m.kind}`] = m.value));
  const { rows } = await searchQuery(shapeOf(s))(db, values);
  return rows.map(toOrder);
}
