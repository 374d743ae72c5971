import { sql } from 'kysely';

/**
 * Ids and quantities as `ARRAY[$1::text, $2::text]`, one parameter each, rather than one array
 * parameter: PostgreSQL then knows the length when it plans the statement once, so the prepared
 * statement keeps one generic plan. With a single array parameter it re-planned the stock
 * reservation on every order (~0.2-0.6 ms of PostgreSQL CPU, bench/, docs/adr/0009).
 */
export const idArray = (ids: readonly unknown[]) => sql`ARRAY[${sql.join(ids.map((id) => sql`${id}::text`))}]::text[]`;
export const qtyArray = (qty: readonly unknown[]) => sql`ARRAY[${sql.join(qty.map((q) => sql`${q}::int`))}]::int[]`;

/**
 * A time `ms` from now on the database's clock (`ms` a number, or a compiled statement's slot).
 * Every schedule (reconciler, outbox) is compared with the database's now(), so it is also counted
 * from it: instances whose clocks disagree with the database or each other cannot make work look due.
 */
export const fromNow = (ms: number | string) =>
  sql<Date>`now() + ${typeof ms === 'number' ? Math.round(ms) : ms}::int * interval '1 millisecond'`;
