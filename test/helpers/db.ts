import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import { failedMarker } from './pglite-template.setup.js';

/**
 * The real PostgreSQL server the integration tests use. It is never optional:
 * if it cannot be reached the suite fails (CI starts it first).
 */
export const PG_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

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
  if (unknown.length)
    throw new Error(`TEST_DATABASES: unknown ${unknown.join(', ')} (known: ${ALL_DATABASES.join(', ')})`);
  return ALL_DATABASES.filter((kind) => chosen.includes(kind));
}

/**
 * Where a suite's database lives. For PGlite, an empty embedded database lent from this worker's
 * pool: pass it to createDb as `pglite`, and `drop` empties it and takes it back. Starting PGlite
 * costs about a second of CPU even from the dump that the pglite project's global setup
 * (test/helpers/pglite-template.setup.ts) made; emptying one costs a few milliseconds. The pool
 * lives as long as the worker's modules: across files in the pglite project (`isolate: false`),
 * one file otherwise.
 */
export async function databaseUrlFor(
  kind: DatabaseKind,
): Promise<{ url: string; drop: () => Promise<void>; pglite?: PGlite }> {
  if (kind === 'postgres') return freshPgSchema();
  const pglite = idle.pop() ?? (await openPglite());
  return { url: 'memory://', pglite, drop: () => giveBack(pglite) };
}

const idle: PGlite[] = [];

async function openPglite(): Promise<PGlite> {
  const path = inject('pgliteTemplate');
  // Without the global setup (a file run on its own), initdb: the same empty database either way.
  template ??= path ? dumpAt(path) : Promise.resolve(undefined);
  const loadDataDir = await template;
  const pglite = new PGlite(loadDataDir ? { loadDataDir } : {});
  await pglite.waitReady;
  return pglite;
}
let template: Promise<Blob | undefined> | undefined;

/** The global setup's dump, once it is there: on the first run after `npm ci` it is still being made. */
async function dumpAt(path: string): Promise<Blob> {
  const until = Date.now() + 120_000;
  while (!existsSync(path)) {
    if (existsSync(failedMarker(path))) throw new Error(await readFile(failedMarker(path), 'utf8'));
    if (Date.now() > until) throw new Error(`no PGlite dump at ${path} after 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return new Blob([await readFile(path)]);
}

/**
 * Back to the state of a new database: no session state, and nothing in `public`, the only schema
 * the migrations write to. One that cannot be emptied (a test closed it, or left it mid-transaction)
 * is closed instead of reused.
 */
async function giveBack(pglite: PGlite): Promise<void> {
  if (pglite.closed) return;
  try {
    await pglite.exec('discard all');
    await pglite.exec('drop schema public cascade; create schema public');
    idle.push(pglite);
  } catch {
    await pglite.close().catch(() => undefined);
  }
}
