import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import * as m001 from './001-initial.js';
import * as m002 from './002-unique-provider-reference.js';
import * as m003 from './003-outbox-due-by-kind.js';
import * as m004 from './004-outbox-delivered-retention.js';
import * as m006 from './006-admin-search-indexes.js';
import * as m007 from './007-payment-ledger.js';
import * as m008 from './008-returns.js';
import * as m009 from './009-charge-lease.js';
import * as m010 from './010-payment-totals.js';
import * as m011 from './011-ledger-totals-table.js';
import * as m012 from './012-payment-action.js';
import * as m013 from './013-outbox-trace-context.js';
import * as m014 from './014-charge-rows-without-triggers.js';
import * as m015 from './015-ledger-rules-read-once-per-session.js';
import * as m016 from './016-charge-rows-settle-in-place.js';
import * as m017 from './017-charge-on-the-payment.js';
import * as m018 from './018-ledger-queues-on-the-payment.js';
import * as m019 from './019-outbox-payload-as-json.js';

/** Migrations are imported, not read from disk, so they ship inside the build as-is. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': m001,
  '002-unique-provider-reference': m002,
  '003-outbox-due-by-kind': m003,
  '004-outbox-delivered-retention': m004,
  '006-admin-search-indexes': m006,
  '007-payment-ledger': m007,
  '008-returns': m008,
  '009-charge-lease': m009,
  '010-payment-totals': m010,
  '011-ledger-totals-table': m011,
  '012-payment-action': m012,
  '013-outbox-trace-context': m013,
  '014-charge-rows-without-triggers': m014,
  '015-ledger-rules-read-once-per-session': m015,
  '016-charge-rows-settle-in-place': m016,
  '017-charge-on-the-payment': m017,
  '018-ledger-queues-on-the-payment': m018,
  '019-outbox-payload-as-json': m019,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  return migrate(db, (m) => m.migrateToLatest());
}

/** Up to and including `name`: an upgrade test starts from an older schema. */
export async function migrateTo(db: Kysely<unknown>, name: keyof typeof MIGRATIONS & string): Promise<string[]> {
  return migrate(db, (m) => m.migrateTo(name));
}

async function migrate(
  db: Kysely<unknown>,
  run: (m: Migrator) => ReturnType<Migrator['migrateToLatest']>,
): Promise<string[]> {
  // Name the schema explicitly: the migrator looks for its tables in every schema,
  // so an unqualified name would find another schema's table and then miss it.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
    migrationTableSchema: rows[0]?.schema ?? 'public',
  });
  const { error, results } = await run(migrator);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
