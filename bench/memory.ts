import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/persistence/db.js';
import { migrateToLatest } from '../src/persistence/migrations/index.js';
import { startHousekeeping } from '../src/workers/housekeeping.js';
import { createOutboxRelay } from '../src/workers/outbox-relay.js';
import { startPaymentReconciler } from '../src/workers/payment-reconciler.js';

/**
 * `npm run bench -- --memory [--memory-orders N]`: where the memory of the embedded default goes
 * as orders are created. The app runs in a fresh process per mode (`node --expose-gc`, the app wired
 * as `npm start` wires it, workers included) on PGlite, once on disk (DATABASE_URL unset, a temporary
 * DATA_DIR) and once on `memory://`, and after every batch of orders records RSS and the JS heap as
 * they are, then, after two full garbage collections:
 *  - the JS heap (`heapUsed`): our objects and every library's — a leak of ours shows here;
 *  - PGlite's WebAssembly memory (the PostgreSQL process: shared buffers, caches, work memory),
 *    which only ever grows (WebAssembly.Memory cannot shrink); V8 counts it in neither;
 *  - `arrayBuffers`: on `memory://` mostly the database files themselves (Emscripten's MEMFS keeps
 *    each file in a typed array), next to what PostgreSQL says its files take;
 *  - RSS, the sum the operating system sees.
 * Results: printed, and saved to bench/results/<timestamp>-memory.json and latest-memory.json;
 * docs/performance.md ("Embedded memory") explains them.
 */
export interface MemoryOptions {
  orders: number;
  batch: number;
}

interface Sample {
  orders: number;
  /** Before the collections: what a process that is not forced to collect carries. */
  rssBeforeGcMb: number;
  heapUsedBeforeGcMb: number;
  heapUsedMb: number;
  wasmMb: number;
  arrayBuffersMb: number;
  rssMb: number;
  databaseMb: number;
  walMb: number;
  dataDirMb: number | null;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');

export async function runMemoryBench(opts: MemoryOptions): Promise<void> {
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    node: process.version,
    orders: opts.orders,
    batch: opts.batch,
    modes: {},
  };
  for (const mode of ['disk', 'memory'] as const) {
    // A process of its own per mode: RSS never gives back what an earlier run took.
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', self, '--child', mode, String(opts.orders), String(opts.batch)],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 * MB,
      },
    );
    const { samples, settings } = JSON.parse(out.trim().split('\n').at(-1)!) as {
      samples: Sample[];
      settings: Record<string, string>;
    };
    (results.modes as Record<string, unknown>)[mode] = { settings, samples, perOrderKb: slopes(samples) };
    printMode(mode, samples, settings);
  }
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // Like the throughput runs: every run's file is git-ignored; a run of at least the default size
  // also replaces latest-memory.json, the one docs/performance.md quotes.
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-memory.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  const full = opts.orders >= 3000;
  if (full) writeFileSync(join(dir, 'latest-memory.json'), JSON.stringify(results, null, 2));
  console.log(`\nsaved ${file}${full ? ' and bench/results/latest-memory.json' : ''}`);
}

async function measure(
  mode: 'disk' | 'memory',
  opts: MemoryOptions,
  gc: () => void,
): Promise<{ samples: Sample[]; settings: Record<string, string> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'order-api-memory-'));
  const secret = randomBytes(32).toString('base64url');
  const config = loadConfig({
    NODE_ENV: 'development',
    JWT_SECRET: secret,
    DATA_DIR: dataDir,
    ...(mode === 'memory' ? { DATABASE_URL: 'memory://' } : {}),
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
  });
  const database = await createDb(config.database);
  const { db, pglite } = database;
  if (!pglite) throw new Error('the memory bench is for the embedded database');
  await migrateToLatest(db as never);
  const app = await buildApp({ config, db, logger: false });
  await app.ready();
  const relay = createOutboxRelay({ db, config, logger: app.log, metrics: app.outboxMetrics });
  relay.start();
  const workers = [
    relay,
    startPaymentReconciler(app.deps, config.workers.reconcileIntervalMs),
    startHousekeeping(app.deps, { outboxRetentionHours: config.workers.outbox.retentionHours }),
  ];

  const key = new TextEncoder().encode(secret);
  const sign = (sub: string, roles: string[] = []) =>
    new SignJWT({ email: `${sub}@example.com`, roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
  const admin = await sign('admin', ['admin']);
  const users = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(`mem_user_${i}`)));
  for (const id of ['mem_a', 'mem_b']) {
    const res = await app.inject({
      method: 'PUT',
      url: `/api/products/${id}`,
      headers: { authorization: `Bearer ${admin}` },
      payload: { name: id, price: 1999, currency: 'USD', active: true, stock: null },
    });
    if (res.statusCode !== 200) throw new Error(`PUT product: ${res.statusCode} ${res.body}`);
  }
  let created = 0;
  const createBatch = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { authorization: `Bearer ${users[created % users.length]}` },
        payload: {
          items: [
            { product_id: 'mem_a', quantity: 1 },
            { product_id: 'mem_b', quantity: 2 },
          ],
          currency: 'USD',
          payment: { provider: 'sandbox', source: 'pm_card_visa' },
        },
      });
      if (res.statusCode !== 201) throw new Error(`POST /api/orders: ${res.statusCode} ${res.body}`);
      created++;
    }
  };
  const sample = async (): Promise<Sample> => {
    // Let the relay catch up, then collect twice (weak references and finalizers need a second pass).
    await new Promise((r) => setTimeout(r, 1500));
    const raw = process.memoryUsage();
    gc();
    gc();
    const m = process.memoryUsage();
    const wasm = pglite.Module.HEAPU8.byteLength;
    const { rows } = await sql<{
      database: string;
      wal: string;
    }>`select pg_database_size(current_database())::text as database, (select coalesce(sum(size), 0) from pg_ls_waldir())::text as wal`.execute(
      db,
    );
    return {
      orders: created,
      rssBeforeGcMb: mb(raw.rss),
      heapUsedBeforeGcMb: mb(raw.heapUsed),
      heapUsedMb: mb(m.heapUsed),
      wasmMb: mb(wasm),
      arrayBuffersMb: mb(m.arrayBuffers),
      rssMb: mb(m.rss),
      databaseMb: mb(Number(rows[0]!.database)),
      walMb: mb(Number(rows[0]!.wal)),
      dataDirMb: mode === 'disk' ? mb(duBytes(config.database.url)) : null,
    };
  };

  // The first batch warms every code path (compiled statements, plan caches, JIT, PostgreSQL's own
  // caches) and is shown, but the per-order figures start after it.
  const samples = [await sample()];
  await createBatch(opts.batch);
  samples.push(await sample());
  while (created < opts.orders) {
    await createBatch(Math.min(opts.batch, opts.orders - created));
    samples.push(await sample());
    console.error(`[memory ${mode}] ${JSON.stringify(samples.at(-1))}`);
  }
  const settings: Record<string, string> = {};
  for (const name of ['shared_buffers', 'work_mem', 'wal_buffers', 'max_wal_size']) {
    const { rows } = await sql<{ v: string }>`select current_setting(${name}) as v`.execute(db);
    settings[name] = rows[0]!.v;
  }
  await Promise.all(workers.map((w) => w.stop()));
  await app.close();
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { samples, settings };
}

function duBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? duBytes(full) : statSync(full).size;
  }
  return total;
}

/** KB per order from the sample after the warm-up batch to the last. */
function slopes(samples: Sample[]): Record<string, number | null> {
  const first = samples[1]!;
  const last = samples.at(-1)!;
  const orders = last.orders - first.orders;
  const per = (k: keyof Sample) =>
    first[k] === null || last[k] === null
      ? null
      : Math.round((((last[k] as number) - (first[k] as number)) * 1024 * 10) / orders) / 10;
  return {
    rssBeforeGc: per('rssBeforeGcMb'),
    heapUsedBeforeGc: per('heapUsedBeforeGcMb'),
    heapUsed: per('heapUsedMb'),
    wasm: per('wasmMb'),
    arrayBuffers: per('arrayBuffersMb'),
    rss: per('rssMb'),
    database: per('databaseMb'),
    wal: per('walMb'),
    dataDir: per('dataDirMb'),
  };
}

function printMode(mode: string, samples: Sample[], settings: Record<string, string>) {
  console.log(
    `\n${mode === 'disk' ? 'on disk (DATABASE_URL unset)' : 'memory://'}, MB after each batch; PGlite ${Object.entries(
      settings,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  console.log(
    '| orders | RSS / JS heap before GC | JS heap | PGlite WASM memory | ArrayBuffers | RSS | database (pg_database_size) | WAL | data dir on disk |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of samples) {
    console.log(
      `| ${s.orders} | ${s.rssBeforeGcMb} / ${s.heapUsedBeforeGcMb} | ${s.heapUsedMb} | ${s.wasmMb} | ${s.arrayBuffersMb} | ${s.rssMb} | ${s.databaseMb} | ${s.walMb} | ${s.dataDirMb ?? '–'} |`,
    );
  }
  const k = slopes(samples);
  console.log(
    `KB per order after the warm-up: ${Object.entries(k)
      .map(([n, v]) => `${n} ${v ?? '–'}`)
      .join(', ')}`,
  );
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const result = await measure(argv[1] as 'disk' | 'memory', { orders: Number(argv[2]), batch: Number(argv[3]) }, gc);
  console.log(JSON.stringify(result));
  process.exit(0);
} else if (process.argv[1] && resolve(process.argv[1]) === self) {
  const at = argv.indexOf('--memory-orders');
  const orders = at >= 0 ? Number(argv[at + 1]) : 3000;
  await runMemoryBench({ orders, batch: Math.max(100, Math.round(orders / 6)) });
}
