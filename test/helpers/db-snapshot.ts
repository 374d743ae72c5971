import { sql, type Kysely } from 'kysely';

/**
 * Row count and a checksum of every row, per table; `content` leaves out `updated_at`, for a change
 * that may touch a row and put it back as it was (stock taken for a charge the provider declined).
 */
export type Snapshot = Record<string, { rows: number; hash: string; content: string }>;

/**
 * Every table of the schema this database handle uses — including tables added by migrations
 * written after this helper — as its row count and the sum of a 64-bit hash of each row (no sort,
 * so it stays cheap as the tables grow). Equal snapshots mean no row was added, removed or changed
 * (stock, statuses, timestamps included). One statement: a snapshot costs one round trip.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema: the tables are read from the catalogue
export async function snapshotTables(db: Kysely<any>): Promise<Snapshot> {
  const tables = await tablesOf(db);
  const parts = tables.map(
    (name) => sql`select ${name}::text as name, count(*)::int as rows,
      coalesce(sum(hashtextextended(t::text, 0)), 0)::text as hash,
      coalesce(sum(hashtextextended((to_jsonb(t) - 'updated_at')::text, 0)), 0)::text as content
      from ${sql.table(name)} t`,
  );
  const { rows } = await sql<{
    name: string;
    rows: number;
    hash: string;
    content: string;
  }>`${sql.join(parts, sql` union all `)}`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.name, { rows: Number(r.rows), hash: r.hash, content: r.content }]));
}

const cache = new WeakMap<object, Promise<string[]>>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
function tablesOf(db: Kysely<any>): Promise<string[]> {
  let found = cache.get(db);
  if (!found) {
    // The PostgreSQL tests share a server, one schema per file: only this file's schema counts.
    found = sql<{
      name: string;
    }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`
      .execute(db)
      .then((r) => r.rows.map((row) => row.name));
    cache.set(db, found);
  }
  return found;
}

/** The tables whose snapshot differs (in content only, with `contentOnly`), for a readable failure. */
export function changedTables(before: Snapshot, after: Snapshot, opts: { contentOnly?: boolean } = {}): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  const key = opts.contentOnly ? 'content' : 'hash';
  return [...names].filter((n) => before[n]?.rows !== after[n]?.rows || before[n]?.[key] !== after[n]?.[key]).sort();
}
