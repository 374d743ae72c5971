import pg from 'pg';

/** The bench's own database on the machine's PostgreSQL; never the tests' or the app's. */
export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/bench';

/** Creates the bench database when it is missing (CREATE DATABASE cannot run inside it). */
export async function ensureDatabase(url = BENCH_DATABASE_URL): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected bench database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
}

/** Drops everything the previous run left: the service migrates a fresh public schema on boot. */
export async function resetSchema(url = BENCH_DATABASE_URL): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('drop schema if exists public cascade');
    await c.query('create schema public');
  });
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
