import { parseArgs } from 'node:util';

export const ALL_SCENARIOS = [
  'get',
  'list',
  'create',
  'cancel',
  'ship',
  'create-awaiting',
  'complete-3ds',
  'list-1m-first',
  'list-deep',
  'create-1m',
  'admin-search',
] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

export interface BenchOptions {
  /** Seconds of each measured run (and of each pgbench run). */
  duration: number;
  /** Seconds of load before each measured run, not counted. */
  warmup: number;
  connections: number;
  scenarios: ScenarioName[];
  quick: boolean;
  /** PGlite in the service process instead of the machine's PostgreSQL; no pgbench limit. */
  embedded: boolean;
  /** Seconds of the sustained mixed run that checks RSS stays flat (0: none). */
  soak: number;
  /** Write a --cpu-prof profile of the service to bench/results/profiles/. */
  profile: boolean;
  /** DATABASE_POOL_SIZE for the service; null leaves the service's default. */
  pool: number | null;
  /** Orders of the deep user (list-deep, create-1m). */
  deepOrders: number;
  users: number;
  products: number;
  /** Orders per user for get and list. */
  ordersPerUser: number;
  /** PAYMENT_CAPTURE for the service: `shipment` makes `create` authorize only. */
  capture: 'immediate' | 'shipment';
  /** Skip the pgbench limit runs (ratios are then missing). */
  noLimit: boolean;
  /** WORKERS_ENABLED=true: the outbox relay, reconciler and housekeeping run inside the measured service. */
  workers: boolean;
  /** After a full run, regenerate docs/performance.svg and the tables in docs/performance.md. */
  doc: boolean;
  /** Only the embedded memory measurement (bench/memory.ts), with this many orders per mode; null: not it. */
  memoryOrders: number | null;
}

const USAGE = `npm run bench -- [options]
  --duration S       seconds per measured run (default 20; --quick 3)
  --warmup S         seconds of warm-up before each run (default 5; --quick 1)
  --connections N    concurrent connections (default 32)
  --scenarios LIST   comma-separated: ${ALL_SCENARIOS.join(',')} (default: all)
  --quick            short runs and a 100k-order deep user: a smoke check, not a result
  --embedded         PGlite inside the service (DATABASE_URL unset); measured, no pgbench limit
  --soak [S]         also a sustained mixed run of S seconds (default 300) checking RSS stays flat
  --profile          write a CPU profile of the service (node --cpu-prof) to bench/results/profiles/
  --pool N           DATABASE_POOL_SIZE for the service (default: the service's own default)
  --deep-orders N    orders of the deep user (default 1000000)
  --capture MODE     PAYMENT_CAPTURE for the service: immediate (default) or shipment (create then only authorizes)
  --no-limit         skip the pgbench runs
  --workers          run the service with WORKERS_ENABLED=true (outbox relay etc. inside it); off by default,
                     see docs/performance.md ("The outbox relay")
  --no-doc           do not regenerate docs/performance.{md,svg} after a full run
  --memory [N]       instead of the load runs: heap, WASM and RSS per order created on the embedded database,
                     on disk and on memory:// (N orders each, default 3000; --quick 600); bench/memory.ts`;

export function parseOptions(argv: string[]): BenchOptions {
  // `--soak` takes an optional value: a bare `--soak` means the default 300 s.
  const bare = (i: number) => argv[i + 1] === undefined || argv[i + 1]!.startsWith('--');
  const args = argv.flatMap((a, i) =>
    a === '--soak' && bare(i) ? ['--soak', '300'] : a === '--memory' && bare(i) ? ['--memory', 'default'] : [a],
  );
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '32' },
      scenarios: { type: 'string' },
      quick: { type: 'boolean', default: false },
      embedded: { type: 'boolean', default: false },
      soak: { type: 'string' },
      profile: { type: 'boolean', default: false },
      pool: { type: 'string' },
      'deep-orders': { type: 'string' },
      'no-limit': { type: 'boolean', default: false },
      capture: { type: 'string', default: 'immediate' },
      workers: { type: 'boolean', default: false },
      'no-doc': { type: 'boolean', default: false },
      memory: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer ≥ ${min} (got "${raw}")\n\n${USAGE}`);
    return n;
  };
  const quick = values.quick;
  const scenarios = (values.scenarios
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean) ?? [...ALL_SCENARIOS]) as ScenarioName[];
  for (const s of scenarios) {
    if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario "${s}"; choose from ${ALL_SCENARIOS.join(', ')}`);
  }
  if (values.capture !== 'immediate' && values.capture !== 'shipment')
    throw new Error(`--capture must be immediate or shipment\n\n${USAGE}`);
  return {
    capture: values.capture,
    duration: num('duration', values.duration, quick ? 3 : 20, 1),
    warmup: num('warmup', values.warmup, quick ? 1 : 5, 0),
    connections: num('connections', values.connections, 32, 1),
    scenarios,
    quick,
    embedded: values.embedded,
    soak: num('soak', values.soak, 0, 10),
    profile: values.profile,
    pool: values.pool === undefined ? null : num('pool', values.pool, 10, 1),
    deepOrders: num('deep-orders', values['deep-orders'], quick ? 100_000 : 1_000_000, 1000),
    users: 1000,
    products: 1000,
    ordersPerUser: 25,
    noLimit: values['no-limit'],
    workers: values.workers,
    doc: !values['no-doc'],
    memoryOrders:
      values.memory === undefined
        ? null
        : values.memory === 'default'
          ? quick
            ? 600
            : 3000
          : num('memory', values.memory, 3000, 200),
  };
}
