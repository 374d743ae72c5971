import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from './fixtures.js';

/**
 * The frozen baseline (bench/pg-limit/baseline/): the create, get and list statements as they were
 * before the payment ledger (commit 6dfe5ac), on that commit's schema and the same amount of data,
 * in a schema of their own of the bench database. pgbench runs them beside today's scripts, so the
 * PostgreSQL CPU a request costs now is also compared with a yardstick that cannot move with it.
 */
const BASELINE_SCHEMA = 'baseline';
export const BASELINE_SCRIPTS: Readonly<Record<string, string>> = {
  create: 'create.sql',
  get: 'get.sql',
  list: 'list.sql',
};

/** The bench database's URL with `baseline` first on the search path: what pgbench connects with. */
export function baselineUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-csearch_path=${BASELINE_SCHEMA}`);
  return u.toString();
}

/** Loads the frozen schema and its data afresh. */
export async function loadBaseline(
  sql: Sql,
  dir: string,
  sizes: { users: number; products: number; readOrders: number },
): Promise<void> {
  const values: Record<string, number> = {
    users: sizes.users,
    products: sizes.products,
    read_orders: sizes.readOrders,
  };
  const fixtures = readFileSync(join(dir, 'fixtures.sql'), 'utf8').replace(
    /:(users|products|read_orders)\b/g,
    (_, k: string) => String(Math.trunc(values[k] ?? NaN)),
  );
  await sql.query(`drop schema if exists ${BASELINE_SCHEMA} cascade`);
  await sql.query(`create schema ${BASELINE_SCHEMA}`);
  await sql.query('begin');
  try {
    await sql.query(`set local search_path = ${BASELINE_SCHEMA}`);
    await sql.query(readFileSync(join(dir, 'schema.sql'), 'utf8'));
    await sql.query(fixtures);
    await sql.query('commit');
  } catch (err) {
    await sql.query('rollback');
    throw err;
  }
  await sql.query(
    `vacuum analyze ${BASELINE_SCHEMA}.products, ${BASELINE_SCHEMA}.orders, ${BASELINE_SCHEMA}.order_items, ${BASELINE_SCHEMA}.payment_transactions`,
  );
}
