import pg from 'pg';
import { SignJWT } from 'jose';
import { sql } from 'kysely';
import { BENCH_DATABASE_URL, ensureDatabase, withClient } from './lib/pg.js';

/**
 * `npx tsx bench/capture-sql.ts` prints every SQL statement the service sends to
 * PostgreSQL for one create, get, list and cancel request, with its parameters:
 * the source of truth for the pgbench scripts in bench/pg-limit/. It runs the
 * real app in-process (app.inject) on a throw-away schema of the bench database.
 * `--plans` (with DATABASE_POOL_SIZE=1) then lists, per prepared statement, how often
 * PostgreSQL used its generic plan and how often it planned afresh.
 */
const SECRET = 'capture-secret-capture-secret-capture-0123456789';
const SCHEMA = 'capture_sql';

type Logged = { text: string; values: unknown[] };
const log: Logged[] = [];
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [config, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
  const text = typeof config === 'string' ? config : config?.text;
  const name = typeof config === 'object' ? (config as { name?: string }).name : undefined;
  if (text)
    log.push({
      text: name ? `/* prepared ${name} */ ${text}` : text,
      values: (typeof config === 'string' ? values : config.values) ?? [],
    });
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
// Imported only now, so that the service's pg client class (src/persistence/db.ts) wraps the logging query.
const { buildApp } = await import('../src/app.js');
const { loadConfig } = await import('../src/config.js');
const { createDb } = await import('../src/persistence/db.js');
const { migrateToLatest } = await import('../src/persistence/migrations/index.js');

await ensureDatabase();
await withClient(BENCH_DATABASE_URL, async (c) => {
  await c.query(`drop schema if exists ${SCHEMA} cascade`);
  await c.query(`create schema ${SCHEMA}`);
});
const url = new URL(BENCH_DATABASE_URL);
url.searchParams.set('options', `-c search_path=${SCHEMA}`);
const config = loadConfig({
  NODE_ENV: 'test',
  JWT_SECRET: SECRET,
  DATABASE_URL: url.toString(),
  LOG_LEVEL: 'silent',
  ...pick(process.env, 'DATABASE_POOL_SIZE'),
});
const database = await createDb(config.database);
await migrateToLatest(database.db as never);
const app = await buildApp({ config, db: database.db, logger: false });
await app.ready();
const key = new TextEncoder().encode(SECRET);
const token = (sub: string, roles: string[] = []) =>
  new SignJWT({ email: `${sub}@example.com`, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
const admin = { authorization: `Bearer ${await token('admin', ['admin'])}` };
const user = { authorization: `Bearer ${await token('u1')}` };

for (const [id, price] of [
  ['p1', 1000],
  ['p2', 2500],
  ['p3', 399],
] as const) {
  await app.inject({
    method: 'PUT',
    url: `/api/products/${id}`,
    headers: admin,
    payload: { name: `Product ${id}`, price, currency: 'USD', active: true, stock: 1_000_000 },
  });
}

async function capture(name: string, run: () => Promise<{ statusCode: number; body: string }>) {
  log.length = 0;
  const res = await run();
  console.log(`\n== ${name}: HTTP ${res.statusCode}, ${log.length} statements`);
  for (const q of log)
    console.log(`${q.text.replace(/\s+/g, ' ').trim()}\n    -- ${JSON.stringify(q.values).slice(0, 300)}`);
  return res;
}

const items = [
  { product_id: 'p1', quantity: 2 },
  { product_id: 'p2', quantity: 1 },
];
const created = await capture('create (2 items, sandbox)', () =>
  app.inject({
    method: 'POST',
    url: '/api/orders',
    headers: user,
    payload: { items, currency: 'USD', payment: { provider: 'sandbox', source: 'pm_card_visa' } },
  }),
);
const orderId = (JSON.parse(created.body) as { id: string }).id;
await capture('get', () => app.inject({ method: 'GET', url: `/api/orders/${orderId}`, headers: user }));
await capture('list first page', () => app.inject({ method: 'GET', url: '/api/orders?limit=20', headers: user }));
await capture('cancel', () =>
  app.inject({ method: 'POST', url: `/api/orders/${orderId}/cancel`, headers: user, payload: {} }),
);

// Which statements keep a generic plan and which PostgreSQL plans afresh at every execution (a
// prepared statement's first five runs are always planned afresh, hence the repetitions). Run with
// DATABASE_POOL_SIZE=1 to see every statement on the one connection.
if (process.argv.includes('--plans')) {
  for (let i = 0; i < 10; i++) {
    const made = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: user,
      payload: { items, currency: 'USD', payment: { provider: 'sandbox', source: 'pm_card_visa' } },
    });
    const id = (JSON.parse(made.body) as { id: string }).id;
    const page = await app.inject({ method: 'GET', url: '/api/orders?limit=1', headers: user });
    const cursor = (JSON.parse(page.body) as { next_cursor: string }).next_cursor;
    await app.inject({ method: 'GET', url: `/api/orders/${id}`, headers: user });
    await app.inject({ method: 'GET', url: `/api/orders?limit=20&cursor=${cursor}`, headers: user });
    await app.inject({ method: 'POST', url: `/api/orders/${id}/cancel`, headers: user, payload: {} });
  }
  const { rows } = await sql<{ generic_plans: string; custom_plans: string; statement: string }>`
    select generic_plans, custom_plans, statement from pg_prepared_statements order by custom_plans desc`.execute(
    database.db,
  );
  console.log('\n== plans per prepared statement on one connection (generic / custom)');
  for (const r of rows)
    console.log(`${r.generic_plans} / ${r.custom_plans}  ${r.statement.replace(/\s+/g, ' ').trim().slice(0, 160)}`);
}

await app.close();
await database.close();
await withClient(BENCH_DATABASE_URL, (c) => c.query(`drop schema if exists ${SCHEMA} cascade`));

function pick(env: NodeJS.ProcessEnv, ...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (env[n] ? [[n, env[n] as string]] : [])));
}
