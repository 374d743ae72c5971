import { mkdirSync } from 'node:fs';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './tables.js';

export interface DbConfig {
  /** `postgres://…`, `memory://`, or a filesystem path for embedded PGlite. */
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
}

export interface DbHandle {
  db: Kysely<Database>;
  embedded: boolean;
  close(): Promise<void>;
}

// bigint (int8) and numeric stay exact strings from pg; repositories convert checked.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (/^postgres(ql)?:\/\//.test(config.url)) {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize,
      statement_timeout: config.statementTimeoutMs,
      connectionTimeoutMillis: 5_000,
    });
    // An idle client dying (server restart) must not crash the process.
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, embedded: false, close: () => db.destroy() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const memory = config.url === 'memory://';
  if (!memory) mkdirSync(config.url, { recursive: true });
  const pglite = memory ? new PGlite() : new PGlite(config.url);
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return { db, embedded: true, close: () => db.destroy() };
}
