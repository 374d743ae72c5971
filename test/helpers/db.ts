import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * The real PostgreSQL server the integration tests use. It is never optional:
 * if it cannot be reached the suite fails (CI starts it first).
 */
export const PG_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh schema on the real server for one test file, so files run in
 * parallel without seeing each other's rows. Returns a URL whose connections
 * use that schema, and a function that drops it.
 */
export async function freshPgSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

const ALL_DATABASES = ['pglite', 'postgres'] as const;
export type DatabaseKind = (typeof ALL_DATABASES)[number];

/**
 * The databases the service supports: every repository/HTTP suite runs on each. The `pglite` and
 * `services` test projects (vitest.config.ts) set TEST_DATABASES to their half, so a file in both
 * runs each half once; unset (a file run on its own), both.
 */
export const DATABASES: readonly DatabaseKind[] = selectDatabases(process.env.TEST_DATABASES);

function selectDatabases(names: string | undefined): readonly DatabaseKind[] {
  if (!names) return ALL_DATABASES;
  const chosen = names.split(',').map((n) => n.trim());
  const unknown = chosen.filter((n) => !(ALL_DATABASES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`TEST_DATABASES: unknown ${unknown.join(', ')} (known: ${ALL_DATABASES.join(', ')})`);
  return ALL_DATABASES.filter((kind) => chosen.includes(kind));
}

/**
 * Where a suite's database lives. For PGlite, `template` is the empty data directory that the
 * pglite project's global setup (test/helpers/pglite-template.setup.ts) initialised once, so that
 * each file skips initdb; pass it to createDb. Without that setup (a file run on its own) it is
 * undefined and the database is initialised from scratch, the same database either way.
 */
export async function databaseUrlFor(kind: DatabaseKind): Promise<{ url: string; drop: () => Promise<void>; template?: Blob }> {
  if (kind === 'pglite') return { url: 'memory://', drop: async () => undefined, template: await pgliteTemplate() };
  return freshPgSchema();
}

let template: Promise<Blob | undefined> | undefined;
function pgliteTemplate(): Promise<Blob | undefined> {
  const path = inject('pgliteTemplate');
  template ??= path ? readFile(path).then((bytes) => new Blob([bytes])) : Promise.resolve(undefined);
  return template;
}
