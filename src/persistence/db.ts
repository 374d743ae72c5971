import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql, type Driver } from 'kysely';
import pg from 'pg';
import { parseConnectionUrl } from './connection-url.js';
import { startEmbeddedCheckpoints } from './embedded-checkpoints.js';
import { FailoverPool } from './failover-pool.js';
import { embeddedStatementTracing } from './traced-statements.js';
import type { Database } from './tables.js';

export interface DbConfig {
  /** `postgres://…`, `memory://`, or a filesystem path for embedded PGlite. */
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  /** Named prepared statements on pg (default true); off behind a pooler that cannot keep them. */
  preparedStatements?: boolean;
  /**
   * An embedded database that is already open, to use instead of opening one; close() leaves it
   * open for its owner. The test suites lend one to each file from a pool (test/helpers/db.ts):
   * starting PGlite costs about a second of CPU even from a dump, initdb several.
   */
  pglite?: PGlite;
}

export interface DbHandle {
  db: Kysely<Database>;
  embedded: boolean;
  /** The embedded database itself, for measurements (bench/memory.ts); unset on a PostgreSQL server. */
  pglite?: PGlite;
  close(): Promise<void>;
}

// bigint (int8) and numeric stay exact strings from pg; repositories convert checked.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/**
 * A pg client that runs every parameterized statement as a named prepared statement, so
 * PostgreSQL parses and plans it once per connection, then only binds and executes it. Unnamed,
 * reading an order cost PostgreSQL about 5× the CPU of the same statement prepared (bench/,
 * docs/adr/0009). Statement texts come from the code (values are always parameters), so they are few;
 * past MAX_PREPARED on one connection, further ones simply run unnamed. A pooler in transaction
 * mode must keep prepared statements (PgBouncer ≥ 1.21 with max_prepared_statements > 0), or
 * DATABASE_PREPARED_STATEMENTS=false turns this off.
 */
const MAX_PREPARED = 500;
const statementNames = new Map<string, string>();
const preparedCount = new WeakMap<pg.Client, number>();
const plainQuery = pg.Client.prototype.query;

class PreparingClient extends pg.Client {}
PreparingClient.prototype.query = function query(
  this: pg.Client,
  config: unknown,
  values?: unknown,
  callback?: unknown,
) {
  if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
    let name = statementNames.get(config);
    if (name === undefined && statementNames.size < 10 * MAX_PREPARED) {
      name = `k${createHash('sha1').update(config).digest('base64url')}`;
      statementNames.set(config, name);
    }
    const count = preparedCount.get(this) ?? 0;
    if (name !== undefined && count < MAX_PREPARED) {
      const parsed = (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection
        .parsedStatements;
      if (parsed[name] === undefined) preparedCount.set(this, count + 1);
      return (plainQuery as (q: pg.QueryConfig) => unknown).call(this, { name, text: config, values });
    }
  }
  return (plainQuery as (...a: unknown[]) => unknown).call(this, config, values, callback);
} as typeof plainQuery;

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (/^postgres(ql)?:\/\//.test(config.url)) {
    const { hosts, targetSessionAttrs } = parseConnectionUrl(config.url);
    const createPool = (url: string) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: config.poolSize,
        statement_timeout: config.statementTimeoutMs,
        // The server's statement_timeout cannot fire when the server is gone without closing the
        // socket (a host lost to the network); this bounds the wait on the client side as well.
        query_timeout: config.statementTimeoutMs + 2_000,
        keepAlive: true,
        connectionTimeoutMillis: 5_000,
        ...(config.preparedStatements === false ? {} : { Client: PreparingClient }),
      });
      // An idle client dying (server restart) must not crash the process; nor one checked out between
      // two statements (in a transaction, while a provider is called): pg-pool listens only to idle
      // clients, and an 'error' nobody listens to is an uncaught exception. Its statements fail anyway,
      // and pg-pool discards it on release.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => void client.on('error', () => undefined));
      return pool;
    };
    // One host and no session requirement: node-postgres's pool as it is, nothing in between.
    const pool =
      hosts.length === 1 && targetSessionAttrs === 'any'
        ? createPool(hosts[0]!.url)
        : new FailoverPool({ hosts, targetSessionAttrs, createPool });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pool as never }) });
    return { db, embedded: false, close: () => db.destroy() };
  }
  const pglite = config.pglite ?? (await openPglite(config.url));
  await pglite.waitReady;
  const dialectConfig = { pglite, ...embeddedStatementTracing() };
  const db = new Kysely<Database>({
    dialect: config.pglite ? new LentPGliteDialect(dialectConfig) : new PGliteDialect(dialectConfig),
  });
  const checkpoints = startEmbeddedCheckpoints(db);
  return {
    db,
    embedded: true,
    pglite,
    close: async () => {
      await checkpoints.stop();
      await db.destroy();
    },
  };
}

async function openPglite(url: string): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (url === 'memory://') return new PGlite();
  mkdirSync(url, { recursive: true });
  return new PGlite(url);
}

/** Kysely's PGlite dialect, except that destroying the Kysely instance leaves the database open for its owner. */
class LentPGliteDialect extends PGliteDialect {
  override createDriver(): Driver {
    return Object.assign(super.createDriver(), { destroy: async () => undefined });
  }
}

/** Resolves when the database answers a trivial statement; rejects with the driver's error otherwise. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
