/**
 * Data the scenarios read, written straight through SQL in seconds (INSERT …
 * SELECT generate_series) with exactly the rows the service itself writes for
 * an order: payment_transactions (succeeded, with its order draft) and its ledger and totals, orders,
 * order_items and the first order_status_history entry.
 *
 * Ids are derived from integers (md5 → uuid), so the pgbench scripts can name
 * the same orders the HTTP scenarios request.
 */

/** What runs SQL: a pg.Client, or PGlite for the embedded mode. */
export interface Sql {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Product ids are numeric SKUs, so pgbench can pass a random one as-is. */
export const PRODUCT_BASE = 1000;
/** Bench users are numeric subs PRODUCT…; the deep user has a million orders. */
export const USER_BASE = 100_000;
export const DEEP_USER = '999999';
/** The deep user's order g is created at DEEP_T0 − g ms (g = 1 is the newest). */
export const DEEP_T0 = '2026-01-01T00:00:00.000Z';

export const productId = (k: number) => String(PRODUCT_BASE + k);
export const userId = (n: number) => String(USER_BASE + n);
export const emailOf = (sub: string) => `u${sub}@bench.example`;
export const productPrice = (k: number) => 100 + ((k * 7919) % 9900);

/**
 * The three sets of orders. Order g of set s has the id whose 128 bits are
 * (s << 40) | g, and its transaction ((s + 8) << 40) | g: ids that pgbench can
 * compute from a random integer, and that load in key order (fast to index).
 */
export const SET = { read: 1, cancel: 2, deep: 3, ship: 4 } as const;
export type OrderSet = keyof typeof SET;

/** The SQL for that id: `fixtureIdSql(1, 'g')` is `lpad(to_hex((1::bigint << 40) | g), 32, '0')::uuid`. */
const fixtureIdSql = (set: number, g: string) => `lpad(to_hex((${set}::bigint << 40) | ${g}), 32, '0')::uuid`;

export function fixtureId(set: number, g: number): string {
  const h = ((BigInt(set) << 40n) | BigInt(g)).toString(16).padStart(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Orders g in [from, to] for `userExpr` (SQL over g), created at `atExpr` (SQL over g). */
async function insertOrders(
  sql: Sql,
  o: {
    set: OrderSet;
    from: number;
    to: number;
    userExpr: string;
    atExpr: string;
    products: number;
    status?: string;
    payment?: 'captured' | 'authorized';
  },
): Promise<void> {
  const authorized = o.payment === 'authorized';
  // The sandbox's references say what a payment is: sb_ch_ captured, sb_au_ authorized (capturable after a restart too).
  const ref = authorized ? `'sb_au_' || f.tx_id` : `'sb_ch_' || f.tx_id`;
  const p = [o.from, o.to];
  const set = SET[o.set];
  await sql.query('begin');
  try {
    await sql.query('set local synchronous_commit = off');
    // The rows are consistent by construction: skip the per-row foreign-key triggers.
    await sql.query(`set local session_replication_role = replica`);
    await sql.query(
      `create temp table fx on commit drop as
      select g, ${fixtureIdSql(set, 'g')} as order_id, ${fixtureIdSql(set + 8, 'g')} as tx_id,
             (${o.userExpr})::text as user_id, (${o.atExpr})::timestamptz as at
      from generate_series($1::int, $2::int) g`,
      p,
    );
    await sql.query(`create temp table fx_items on commit drop as
      select f.order_id, p.position, pr.id as product_id, pr.name, x.q as quantity, pr.price as unit_price, pr.price * x.q as line_total
      from fx f
      cross join lateral generate_series(0, f.g % 3) p(position)
      cross join lateral (select (${PRODUCT_BASE} + 1 + (f.g * 7 + p.position * 131) % ${o.products})::text as pid,
                                 1 + (f.g + p.position) % 3 as q) x
      join products pr on pr.id = x.pid`);
    await sql.query('analyze fx, fx_items');
    await sql.query(`create temp table fx_tot on commit drop as
      select order_id, sum(line_total)::bigint as total,
             jsonb_agg(jsonb_build_object('product_id', product_id, 'name', name, 'quantity', quantity,
                                          'unit_price', unit_price, 'line_total', line_total) order by position) as items
      from fx_items group by order_id`);
    await sql.query('analyze fx_tot');
    // The payment records its charge (migration 017): the authorization, and the capture when paid at
    // creation. No later movement, so no ledger row and no totals row.
    await sql.query(`insert into payment_transactions (id, order_id, customer_id, provider, provider_reference, status, amount,
        currency, charge_capture, authorization_expires_at, source, decline_code, failure_reason, order_draft, abandoned, attempts,
        next_attempt_at, created_at, updated_at)
      select f.tx_id, f.order_id, f.user_id, 'sandbox', ${ref}, 'succeeded', t.total, 'USD',
             ${authorized ? 'null' : 'nullif(t.total, 0)'}, ${authorized ? `now() + interval '7 days'` : 'null'}, 'pm_card_visa', null, null,
             jsonb_build_object('order_id', f.order_id, 'user_id', f.user_id, 'currency', 'USD', 'items', t.items, 'total', t.total,
                                'email', 'u' || f.user_id || '@bench.example', 'shipping_address', null, 'idempotency_key', null,
                                'capture', '${authorized ? 'shipment' : 'immediate'}'),
             false, 0, f.at, f.at, f.at
      from fx f join fx_tot t using (order_id)`);
    await sql.query(`insert into orders (id, user_id, status, currency, total, email, shipping_address, tracking, transaction_id, created_at, updated_at)
      select f.order_id, f.user_id, '${o.status ?? 'pending'}', 'USD', t.total, 'u' || f.user_id || '@bench.example', null, null, f.tx_id, f.at, f.at
      from fx f join fx_tot t using (order_id)`);
    await sql.query(`insert into order_items (order_id, position, product_id, name, quantity, unit_price, line_total)
      select order_id, position, product_id, name, quantity, unit_price, line_total from fx_items`);
    await sql.query(`insert into order_status_history (order_id, status, actor, note, at)
      select order_id, 'pending', user_id, null, at from fx`);
    await sql.query('commit');
  } catch (err) {
    await sql.query('rollback');
    throw err;
  }
}

/** `count` orders spread round-robin over the bench users, newest g first. */
export function insertUserOrders(
  sql: Sql,
  set: OrderSet,
  from: number,
  to: number,
  users: number,
  products: number,
  extra: { status?: string; payment?: 'captured' | 'authorized' } = {},
) {
  return insertOrders(sql, {
    set,
    from,
    to,
    products,
    ...extra,
    userExpr: `${USER_BASE} + 1 + (g - 1) % ${users}`,
    atExpr: `now() - g * interval '1 second'`,
  });
}

/**
 * The deep user's orders, in chunks so that progress shows and no transaction
 * gets huge. (Two connections in parallel were slower here: they contend for
 * the same rightmost index pages and the WAL.)
 */
export async function insertDeepOrders(sql: Sql, count: number, products: number, onChunk?: (done: number) => void) {
  const chunk = 250_000;
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await insertOrders(sql, {
      set: 'deep',
      from,
      to,
      products,
      userExpr: `'${DEEP_USER}'`,
      atExpr: `'${DEEP_T0}'::timestamptz - g * interval '1 millisecond'`,
    });
    onChunk?.(to);
  }
}

/** The keyset position of the deep user's order g, as the service's cursor encodes it. */
export function deepPosition(g: number): { created_at: string; id: string } {
  return { created_at: new Date(Date.parse(DEEP_T0) - g).toISOString(), id: fixtureId(SET.deep, g) };
}
