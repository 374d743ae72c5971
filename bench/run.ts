import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { writeDocs } from './chart.js';
import { BASELINE_SCRIPTS, baselineUrl, loadBaseline } from './lib/baseline.js';
import {
  DEEP_T0,
  DEEP_USER,
  insertDeepOrders,
  insertUserOrders,
  PRODUCT_BASE,
  USER_BASE,
  type Sql,
} from './lib/fixtures.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { ALL_SCENARIOS, parseOptions, type ScenarioName } from './lib/options.js';
import { BENCH_DATABASE_URL, ensureDatabase, resetSchema } from './lib/pg.js';
import { pgbenchVersion, runPgbench } from './lib/pgbench.js';
import { measureWindow } from './lib/proc.js';
import {
  computeTargets,
  markdownTable,
  NOISY_CORES,
  targetsTable,
  type BenchResults,
  type ScenarioResult,
  type SoakResult,
} from './lib/report.js';
import { deepWindow, defineScenarios, type ScenarioDef } from './lib/scenarios.js';
import { mintTokens, seedAwaiting, seedCatalog, seedUsers, type SeededOrder } from './lib/seed.js';
import { startService, type Service } from './lib/service.js';

/**
 * `npm run bench`: the service under load next to the physical limit of the
 * same SQL (pgbench), every figure a ratio to that limit. See docs/performance.md.
 */
const opts = parseOptions(process.argv.slice(2));
if (opts.memoryOrders !== null) {
  const { runMemoryBench } = await import('./memory.js');
  await runMemoryBench({ orders: opts.memoryOrders, batch: Math.max(100, Math.round(opts.memoryOrders / 6)) });
  process.exit(0);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const log = (msg: string) =>
  console.log(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
mkdirSync(resultsDir, { recursive: true });

const mode = opts.embedded ? 'embedded' : 'postgres';
const withLimit = !opts.embedded && !opts.noLimit;
if (withLimit && !pgbenchVersion()) {
  console.error(
    'pgbench is not on PATH (Debian: apt-get install postgresql-client); run with --no-limit to measure without the limit.',
  );
  process.exit(2);
}
const notes: string[] = [];
if (opts.quick) notes.push('--quick: short runs and a smaller deep user; a smoke check, not a result.');
if (opts.embedded)
  notes.push('embedded: PGlite runs inside the service process; pgbench cannot reach it, so there are no ratios.');
if (!opts.workers)
  notes.push(
    'The service ran with WORKERS_ENABLED=false: no outbox relay, reconciler or housekeeping inside it (docs/performance.md, "The outbox relay").',
  );

// ---------------------------------------------------------------------------- the service
const jwtSecret = randomBytes(32).toString('base64url');
const dataDir = opts.embedded ? join('/tmp', `order-api-bench-${process.pid}`) : null;
const serviceEnv: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  NODE_ENV: 'development',
  JWT_SECRET: jwtSecret,
  LOG_LEVEL: 'warn',
  // Off by default: the bench measures the request path, and background work in the service would also
  // run during the pgbench runs (the relay delivers the emails pgbench's create inserted) and depress
  // the limit. `--workers` measures with them; docs/performance.md ("The outbox relay").
  WORKERS_ENABLED: opts.workers ? 'true' : 'false',
  // Rate limiting is per user and per minute; the bench is one client playing many users.
  RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
  ...(opts.pool !== null ? { DATABASE_POOL_SIZE: String(opts.pool) } : {}),
  PAYMENT_CAPTURE: opts.capture,
  ...(dataDir ? { DATA_DIR: dataDir } : { DATABASE_URL: BENCH_DATABASE_URL }),
};
const poolSize = loadConfig(serviceEnv).database.poolSize;
const dbName = opts.embedded ? null : decodeURIComponent(new URL(BENCH_DATABASE_URL).pathname.slice(1));
// bench/results/*.cpuprofile is git-ignored.
const profileDir = opts.profile ? resultsDir : null;
const profiles: string[] = [];
let service: Service | null = null;
let restarts = 0;
const start = async () => {
  const profileName = profileDir ? `service-${stamp}-${restarts++}.cpuprofile` : undefined;
  if (profileName) profiles.push(join(resultsDir, profileName));
  service = await startService({ cwd: root, env: serviceEnv, profileDir, profileName });
  return service;
};
const svc = () => {
  if (!service) throw new Error('the service is not running');
  return service;
};
process.on('SIGINT', () => {
  void service?.stop().finally(() => process.exit(130));
});

// ---------------------------------------------------------------------------- direct SQL access
/** Runs `fn` with SQL access to the service's database: a pg client, or (embedded) PGlite with the service stopped. */
async function withSql<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
  if (!opts.embedded) {
    const c = new pg.Client({ connectionString: BENCH_DATABASE_URL });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  await svc().stop();
  service = null;
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(join(dataDir as string, 'pgdata'));
  try {
    return await fn(db);
  } finally {
    await db.close();
    await start();
  }
}

async function main(): Promise<void> {
  // ---------------------------------------------------------------------------- setup
  if (!opts.embedded) {
    await ensureDatabase();
    await resetSchema();
    log(`database ${BENCH_DATABASE_URL} reset`);
  } else {
    rmSync(dataDir as string, { recursive: true, force: true });
  }
  await start();
  log(`service pid ${svc().pid} on ${svc().baseUrl} (${mode}, pool ${poolSize})`);

  const tokens = await mintTokens(jwtSecret, opts.users);
  await seedCatalog(svc().baseUrl, tokens.admin, opts.products);
  log(`catalog: ${opts.products} products through PUT /api/products`);
  const firstOrders = await seedUsers(svc().baseUrl, tokens.users, opts.products);
  log(`users: ${opts.users}, each placed a first order through POST /api/orders`);

  const wanted = new Set(opts.scenarios);
  const baselineDir = join(root, 'bench', 'pg-limit', 'baseline');
  const withBaseline = withLimit && opts.scenarios.some((n) => BASELINE_SCRIPTS[n]);
  const readOrders = opts.users * opts.ordersPerUser;
  // Sized for the fastest cancel rate seen here with room to spare; running past it marks the run invalid.
  const cancelPool = wanted.has('cancel')
    ? Math.ceil((opts.warmup + opts.duration + 2) * (opts.embedded ? 1500 : 4000))
    : 0;
  // Processing orders whose payment is only authorized: each ship captures one.
  const shipPool = wanted.has('ship')
    ? Math.ceil((opts.warmup + opts.duration + 2) * (opts.embedded ? 1500 : 4000))
    : 0;
  await withSql(async (sql) => {
    const t = Date.now();
    if (wanted.has('get') || wanted.has('list'))
      await insertUserOrders(sql, 'read', 1, readOrders, opts.users, opts.products);
    if (cancelPool) await insertUserOrders(sql, 'cancel', 1, cancelPool, opts.users, opts.products);
    if (shipPool)
      await insertUserOrders(sql, 'ship', 1, shipPool, opts.users, opts.products, {
        status: 'processing',
        payment: 'authorized',
      });
    await sql.query('vacuum analyze');
    log(
      `fixtures through SQL: ${readOrders} orders to read, ${cancelPool} pending orders to cancel, ${shipPool} authorized orders to ship (${Date.now() - t} ms)`,
    );
    if (withBaseline) {
      await loadBaseline(sql, baselineDir, { users: opts.users, products: opts.products, readOrders });
      log(
        `frozen baseline (bench/pg-limit/baseline): schema of 6dfe5ac, ${opts.products} products, ${readOrders} orders`,
      );
    }
  });

  // Waiting orders live partly in the sandbox's memory, so they are made through the API; sized like the other pools.
  const awaitingCount = wanted.has('complete-3ds')
    ? Math.ceil((opts.warmup + opts.duration + 2) * (opts.embedded ? 400 : 1000)) + 1
    : 0;
  const awaitingPool = awaitingCount
    ? await seedAwaiting(svc().baseUrl, tokens.users, opts.products, awaitingCount)
    : [];
  if (awaitingCount)
    log(`${awaitingCount} orders awaiting their payment through POST /api/orders (pm_card_threeDSecureRequired)`);
  const world = {
    tokens: tokens.users,
    adminToken: tokens.admin,
    users: opts.users,
    products: opts.products,
    readOrders,
    cancelPool,
    shipPool,
    deepOrders: opts.deepOrders,
    awaitingPool,
  };
  const scenarios = defineScenarios(world);
  const deep = deepWindow(opts.deepOrders);
  const sample = pickSample(firstOrders);
  const pgbenchVars = {
    ubase: USER_BASE,
    users: opts.users,
    pbase: PRODUCT_BASE,
    products: opts.products,
    read_orders: readOrders,
    deep_user: DEEP_USER,
    deep_t0: DEEP_T0,
    deep_from: deep.from,
    deep_span: deep.span,
    ...samplePayloads(sample),
  };

  // ---------------------------------------------------------------------------- the runs
  const results: ScenarioResult[] = [];

  async function checkpoint() {
    if (!opts.embedded) await withSql((sql) => sql.query('checkpoint'));
  }

  async function runScenario(def: ScenarioDef): Promise<void> {
    let limit: ScenarioResult['limit'] = null;
    if (withLimit && def.limitScript) {
      await checkpoint();
      const base = {
        url: BENCH_DATABASE_URL,
        scriptDir: join(root, 'bench', 'pg-limit'),
        script: def.limitScript,
        clients: opts.connections,
        vars: { ...pgbenchVars, ...def.limitVars },
      };
      if (opts.warmup > 0) await runPgbench({ ...base, seconds: opts.warmup });
      // The service is sampled too: it should be idle while pgbench runs, and anything it does then shows.
      const w = measureWindow({ servicePid: svc().pid, dbName });
      const r = await runPgbench({ ...base, seconds: opts.duration });
      const { rssSeriesMb: _s, rssPeakMb: _p, rssEndMb: _e, hwmMb: _h, ...cpu } = w.stop();
      limit = { ...r, cpu };
      log(`${def.name}: pgbench ${def.limitScript} ${r.valid ? `${r.tps} tps` : `INVALID (${r.invalidReason})`}`);
    }
    let baseline: ScenarioResult['baseline'] = null;
    const frozen = BASELINE_SCRIPTS[def.name];
    if (withBaseline && frozen) {
      await checkpoint();
      const base = {
        url: baselineUrl(BENCH_DATABASE_URL),
        scriptDir: baselineDir,
        script: frozen,
        clients: opts.connections,
        vars: { ...pgbenchVars, ...def.limitVars },
      };
      if (opts.warmup > 0) await runPgbench({ ...base, seconds: opts.warmup });
      const w = measureWindow({ servicePid: svc().pid, dbName });
      const r = await runPgbench({ ...base, seconds: opts.duration });
      const { postgresCpuCores, otherCpuCores } = w.stop();
      baseline = {
        script: `baseline/${frozen}`,
        tps: r.tps,
        valid: r.valid,
        invalidReason: r.invalidReason,
        postgresCpuUsPerTx: Math.round((postgresCpuCores / r.tps) * 1e6),
        otherCpuCores,
      };
      log(
        `${def.name}: frozen baseline ${r.valid ? `${r.tps} tps, postgres ${baseline.postgresCpuUsPerTx} µs/tx` : `INVALID (${r.invalidReason})`}`,
      );
    }

    const pre = def.preflight();
    const res = await fetch(svc().baseUrl + pre.request.path, {
      method: pre.request.method,
      headers: {
        authorization: `Bearer ${pre.request.token}`,
        ...(pre.request.body
          ? { 'content-type': pre.request.form ? 'application/x-www-form-urlencoded' : 'application/json' }
          : {}),
      },
      body: pre.request.body,
      redirect: 'manual',
    });
    const problem = pre.check(res.status, await res.json().catch(() => null));
    if (problem) throw new Error(`${def.name}: the preflight request got a wrong answer: ${problem}`);

    await checkpoint();
    let warm: LoadResult | null = null;
    if (opts.warmup > 0)
      warm = await runLoad(svc().baseUrl, def.next, { connections: opts.connections, seconds: opts.warmup });
    const logBefore = svc().logTail().length;
    const w = measureWindow({ servicePid: svc().pid, dbName });
    const fromUs = monotonicUs();
    const load = await runLoad(svc().baseUrl, def.next, { connections: opts.connections, seconds: opts.duration });
    const window = { fromUs, toUs: monotonicUs() };
    const { rssSeriesMb: _series, ...service } = w.stop();
    const valid = load.valid && (limit?.valid ?? true);
    const ratio = valid && limit ? Math.round((load.rps / limit.tps) * 1000) / 1000 : null;
    results.push({
      name: def.name,
      title: def.title,
      phase: def.phase,
      valid,
      invalidReason: load.invalidReason ?? (limit && !limit.valid ? `pgbench: ${limit.invalidReason}` : null),
      load,
      warmup: { requests: warm?.requests ?? 0, non2xx: warm?.non2xx ?? 0, errors: warm?.errors ?? 0 },
      service,
      limit,
      ratio,
      serviceCpuUsPerRequest: Math.round((service.serviceCpuCores / load.rps) * 1e6),
      postgresCpuUsPerRequest: Math.round((service.postgresCpuCores / load.rps) * 1e6),
      postgresCpuUsPerLimitTx: limit ? Math.round((limit.cpu.postgresCpuCores / limit.tps) * 1e6) : null,
      baseline,
      noisy:
        service.otherCpuCores > NOISY_CORES ||
        (limit?.cpu.otherCpuCores ?? 0) > NOISY_CORES ||
        (baseline?.otherCpuCores ?? 0) > NOISY_CORES,
      serviceLogLines: Math.max(0, svc().logTail().length - logBefore),
      window,
    });
    log(
      `${def.name}: ${valid ? `${load.rps} req/s` : `INVALID (${load.invalidReason})`}, p50 ${load.latencyMs.p50} p95 ${load.latencyMs.p95} p99 ${load.latencyMs.p99} ms` +
        `${ratio !== null ? `, ${(ratio * 100).toFixed(1)}% of the limit` : ''}; CPU/request: service ${Math.round((service.serviceCpuCores / load.rps) * 1e6)} µs ` +
        `(${Math.round(service.serviceKernelShare * 100)}% in the kernel), ` +
        `postgres ${Math.round((service.postgresCpuCores / load.rps) * 1e6)} µs${limit ? ` (pgbench ${Math.round((limit.cpu.postgresCpuCores / limit.tps) * 1e6)} µs)` : ''}; ` +
        `others on the machine ${service.otherCpuCores} cores; RSS peak ${service.rssPeakMb} MB`,
    );
  }

  const order = ALL_SCENARIOS.filter((s) => wanted.has(s));
  for (const name of order.filter((s) => scenarios[s].phase === 'base')) await runScenario(scenarios[name]);

  if (order.some((s) => scenarios[s].phase === 'deep')) {
    await withSql(async (sql) => {
      const t = Date.now();
      await insertDeepOrders(sql, opts.deepOrders, opts.products, (done) =>
        log(`deep user: ${done.toLocaleString('en-US')} orders loaded`),
      );
      await sql.query('vacuum analyze');
      log(
        `deep user ${DEEP_USER}: ${opts.deepOrders.toLocaleString('en-US')} orders through SQL in ${((Date.now() - t) / 1000).toFixed(1)} s`,
      );
    });
    for (const name of order.filter((s) => scenarios[s].phase === 'deep'))
      await runScenario(scenarios[name as ScenarioName]);
  }

  // ---------------------------------------------------------------------------- soak
  let soak: SoakResult | null = null;
  if (opts.soak > 0) {
    const mix = [scenarios.create.next, scenarios.get.next, scenarios.list.next];
    if (!wanted.has('get') && !wanted.has('list'))
      throw new Error('--soak reads the get/list fixtures: keep those scenarios');
    log(`soak: ${opts.soak} s of create+get+list at ${opts.connections} connections`);
    if (opts.warmup > 0) await runLoad(svc().baseUrl, mix, { connections: opts.connections, seconds: opts.warmup });
    const w = measureWindow({ servicePid: svc().pid, dbName, everyMs: 1000 });
    const load = await runLoad(svc().baseUrl, mix, { connections: opts.connections, seconds: opts.soak });
    const stats = w.stop();
    const series = stats.rssSeriesMb;
    const skip = Math.floor(series.length / 10);
    const win = Math.min(30, Math.max(1, Math.floor((series.length - skip) / 3)));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const rssStartMb = median(series.slice(skip, skip + win));
    const rssEndMb = median(series.slice(-win));
    soak = {
      seconds: opts.soak,
      mix: ['create', 'get', 'list'],
      load,
      service: stats,
      rssStartMb,
      rssEndMb,
      rssGrowth: (rssEndMb - rssStartMb) / rssStartMb,
      valid: load.valid,
    };
    log(`soak: ${load.rps} req/s, RSS ${rssStartMb} → ${rssEndMb} MB (${(soak.rssGrowth * 100).toFixed(1)}%)`);
  }

  const logTail = svc().logTail();
  await svc().stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  // ---------------------------------------------------------------------------- report
  const pgVersion = opts.embedded
    ? null
    : await withSql(
        async (sql) => ((await sql.query('show server_version')).rows[0] as { server_version: string }).server_version,
      );
  // Only a run with the defaults stands for the service: it alone updates latest*.json and the docs.
  const full =
    !opts.quick &&
    order.length === ALL_SCENARIOS.length &&
    opts.duration >= 10 &&
    opts.pool === null &&
    !opts.workers &&
    (opts.embedded || !opts.noLimit);
  const out: BenchResults = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    mode,
    full,
    options: { ...opts },
    machine: {
      nproc: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      kernel: release(),
      postgres: pgVersion,
      pgbench: withLimit ? pgbenchVersion() : null,
      loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    service: {
      poolSize,
      env: Object.fromEntries(Object.entries(serviceEnv).filter(([k]) => !['JWT_SECRET', 'PATH', 'HOME'].includes(k))),
    },
    fixtures: {
      products: opts.products,
      users: opts.users,
      readOrders,
      cancelPool,
      shipPool,
      deepOrders: order.some((s) => scenarios[s].phase === 'deep') ? opts.deepOrders : 0,
    },
    scenarios: results,
    soak,
    targets: computeTargets(results, soak, opts.embedded),
    profiles: profiles.map((p) => p.slice(root.length + 1)),
    notes,
  };
  if (results.some((r) => r.serviceLogLines > 0))
    out.notes.push(`service log at warn+ (tail): ${logTail.slice(-5).join(' | ').slice(0, 2000)}`);

  console.log(`\n${markdownTable(out)}\n\n${targetsTable(out)}\n`);
  const file = join(resultsDir, `${stamp}${opts.embedded ? '-embedded' : ''}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  log(`saved ${file}`);
  if (full) {
    const latest = join(resultsDir, opts.embedded ? 'latest-embedded.json' : 'latest.json');
    writeFileSync(latest, JSON.stringify(out, null, 2) + '\n');
    log(`saved ${latest}`);
    if (opts.doc) {
      writeDocs(root);
      log('docs/performance.md and docs/performance.svg regenerated');
    }
  } else {
    log(
      'not a full run (--quick, a subset of scenarios, a short --duration, --pool or --no-limit): latest*.json and the docs are left as they were',
    );
  }
  if (profiles.length)
    log(
      `CPU profile: ${profiles.join(', ')}; per scenario: npx tsx bench/profile-top.ts --results ${file.slice(root.length + 1)} --scenario <name>`,
    );
}

try {
  await main();
} catch (err) {
  console.error(err);
  const running = service as Service | null; // set inside main()
  if (running) console.error(`service log (tail):\n${running.logTail().slice(-20).join('\n')}`);
  await running?.stop();
  process.exit(1);
}
process.exit(0);

// ---------------------------------------------------------------------------- helpers
/** CLOCK_MONOTONIC in µs: the clock of a V8 CPU profile's timestamps, so a profile can be cut to a run. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function pickSample(orders: SeededOrder[]): SeededOrder {
  const two = orders.find((o) => Array.isArray(o.items) && o.items.length === 2);
  const o = two ?? orders[0];
  if (!o) throw new Error('no seeded order to take payload sizes from');
  return o;
}

/** The JSON documents the service writes for an order (bench/capture-sql.ts shows them), for pgbench. */
function samplePayloads(order: SeededOrder): Record<string, string> {
  const o = order as SeededOrder & { currency: string; items: unknown[]; total: number; email: string | null };
  const now = new Date().toISOString();
  return {
    draft: JSON.stringify({
      order_id: o.id,
      user_id: o.user_id,
      currency: o.currency,
      items: o.items,
      total: o.total,
      email: o.email,
      shipping_address: null,
      idempotency_key: null,
    }),
    email_payload: JSON.stringify({
      id: randomUUID(),
      kind: 'order_confirmation',
      to: o.email,
      order_id: o.id,
      order: o,
    }),
    event_payload: JSON.stringify({
      id: randomUUID(),
      type: 'order.created',
      occurred_at: now,
      order_id: o.id,
      user_id: o.user_id,
      data: o,
    }),
  };
}
