import type { LoadResult } from './load.js';
import type { PgbenchResult } from './pgbench.js';
import type { WindowStats } from './proc.js';

export interface ScenarioResult {
  name: string;
  title: string;
  phase: 'base' | 'deep';
  valid: boolean;
  invalidReason: string | null;
  load: LoadResult;
  warmup: { requests: number; non2xx: number; errors: number };
  service: Omit<WindowStats, 'rssSeriesMb'>;
  limit: (PgbenchResult & { cpu: Omit<WindowStats, 'rssSeriesMb' | 'rssPeakMb' | 'rssEndMb' | 'hwmMb'> }) | null;
  /** Service requests/s ÷ pgbench transactions/s of the same SQL in the same run. */
  ratio: number | null;
  /** CPU the service spent per request (µs): the least noise-sensitive figure on a shared machine. */
  serviceCpuUsPerRequest: number;
  /** CPU PostgreSQL spent per request (µs), and per pgbench transaction of the same SQL. */
  postgresCpuUsPerRequest: number;
  postgresCpuUsPerLimitTx: number | null;
  /**
   * The frozen baseline's pgbench run (bench/pg-limit/baseline/: the statements before the ledger, on
   * their own schema): PostgreSQL's CPU per transaction of a yardstick that does not move with the code.
   */
  baseline?: {
    script: string;
    tps: number;
    valid: boolean;
    invalidReason: string | null;
    postgresCpuUsPerTx: number;
    otherCpuCores: number;
  } | null;
  /**
   * Other work on the machine took more than NOISY_CORES during the service's run or its pgbench run:
   * the two were measured under different conditions, and the ratio is not to be trusted.
   */
  noisy: boolean;
  /** Service log lines at warn or above during the run. */
  serviceLogLines: number;
  /** The measured run on CLOCK_MONOTONIC (µs), which V8 profiles use: bench/profile-top.ts --scenario cuts to it. */
  window: { fromUs: number; toUs: number };
}

/** Cores of other work above which a run counts as disturbed (the machine has two). */
export const NOISY_CORES = 0.25;

export interface SoakResult {
  seconds: number;
  mix: string[];
  load: LoadResult;
  service: WindowStats;
  rssStartMb: number;
  rssEndMb: number;
  /** (end − start) / start, medians of the first and last 30 s after the first 10 % of the run. */
  rssGrowth: number;
  valid: boolean;
}

export interface Target {
  id: string;
  description: string;
  value: number | null;
  threshold: string;
  met: boolean | null;
  /** Judged on a run that other work on the machine disturbed. */
  noisyRun?: boolean;
}

export interface BenchResults {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  mode: 'postgres' | 'embedded';
  full: boolean;
  options: Record<string, unknown>;
  machine: Record<string, unknown>;
  service: { poolSize: number; env: Record<string, string> };
  fixtures: Record<string, number>;
  scenarios: ScenarioResult[];
  soak: SoakResult | null;
  targets: Target[];
  /** CPU profiles of the service written by --profile (one per service start). */
  profiles: string[];
  notes: string[];
}

export function computeTargets(scenarios: ScenarioResult[], soak: SoakResult | null, embedded: boolean): Target[] {
  const by = (n: string) => scenarios.find((s) => s.name === n && s.valid);
  const t: Target[] = [];
  const ratioTarget = (name: string, min: number, p99Max: number | null) => {
    const s = by(name);
    const ratioOk = s?.ratio == null ? null : s.ratio >= min;
    t.push({
      id: `${name}-ratio`,
      description: `${name}: ≥ ${min * 100}% of the pgbench limit`,
      value: s?.ratio ?? null,
      threshold: `≥ ${min}`,
      met: embedded ? null : ratioOk,
    });
    if (p99Max !== null) {
      const p99 = s?.load.latencyMs.p99 ?? null;
      t.push({
        id: `${name}-p99`,
        description: `${name}: p99 < ${p99Max} ms`,
        value: p99,
        threshold: `< ${p99Max} ms`,
        met: embedded || p99 === null ? null : p99 < p99Max,
      });
    }
  };
  ratioTarget('create', 0.5, 50);
  ratioTarget('get', 0.25, 10);
  ratioTarget('list', 0.25, null);
  const cost = (id: string, description: string, base: string, other: string) => {
    const a = by(base);
    const b = by(other);
    const value = a && b ? round3(a.load.rps / b.load.rps) : null;
    t.push({ id, description, value, threshold: '≤ 1.2', met: embedded || value === null ? null : value <= 1.2 });
  };
  cost(
    'deep-page-cost',
    'page 500k deep costs ≤ 1.2× the first page (first-page req/s ÷ deep-page req/s)',
    'list',
    'list-deep',
  );
  // Not a target: the same comparison within the 1M-order user, which isolates depth from index size.
  const first = by('list-1m-first');
  const deepest = by('list-deep');
  if (first && deepest) {
    t.push({
      id: 'deep-page-cost-same-user',
      description: '(for reference) page 500k deep ÷ first page of the same 1M-order user',
      value: round3(first.load.rps / deepest.load.rps),
      threshold: '–',
      met: null,
    });
  }
  // PostgreSQL's work per request against the frozen baseline's per transaction: the service's (the
  // target) and, for reference, today's pgbench script's (the same SQL from pgbench on both sides).
  const create = by('create');
  const frozen = create?.baseline?.valid ? create.baseline.postgresCpuUsPerTx : null;
  t.push({
    id: 'create-pg-baseline',
    description: "create: PostgreSQL CPU per request ≤ 1.1× the frozen baseline's (service ÷ bench/pg-limit/baseline)",
    value: frozen && create ? round3(create.postgresCpuUsPerRequest / frozen) : null,
    threshold: '≤ 1.1',
    met: embedded || !frozen || !create ? null : create.postgresCpuUsPerRequest / frozen <= 1.1,
  });
  t.push({
    id: 'create-pgbench-baseline',
    description: "(for reference) create.sql's PostgreSQL CPU per transaction ÷ the frozen baseline's",
    value: frozen && create?.postgresCpuUsPerLimitTx ? round3(create.postgresCpuUsPerLimitTx / frozen) : null,
    threshold: '–',
    met: null,
  });
  cost(
    'create-1m-cost',
    'create with 1M orders costs ≤ 1.2× create on the seeded tables (req/s ratio)',
    'create',
    'create-1m',
  );
  // A target judged on a disturbed run says so (NOISY_CORES).
  const involved: Record<string, string[]> = {
    'create-ratio': ['create'],
    'create-p99': ['create'],
    'get-ratio': ['get'],
    'get-p99': ['get'],
    'list-ratio': ['list'],
    'deep-page-cost': ['list', 'list-deep'],
    'deep-page-cost-same-user': ['list-1m-first', 'list-deep'],
    'create-1m-cost': ['create', 'create-1m'],
    'create-pg-baseline': ['create'],
    'create-pgbench-baseline': ['create'],
  };
  for (const x of t) if ((involved[x.id] ?? []).some((n) => by(n)?.noisy)) x.noisyRun = true;
  t.push({
    id: 'soak-rss',
    description: 'RSS flat within 10% over the sustained run',
    value: soak ? round3(soak.rssGrowth) : null,
    threshold: '≤ 0.10',
    met: soak && soak.valid ? Math.abs(soak.rssGrowth) <= 0.1 : null,
  });
  return t;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (r: number | null) => (r === null ? '–' : `${Math.round(r * 1000) / 10}%`);

type Cpu = Pick<WindowStats, 'serviceCpuCores' | 'postgresCpuCores' | 'loadgenCpuCores' | 'otherCpuCores'>;
const cpu = (c: Cpu | undefined) =>
  c
    ? [c.serviceCpuCores, c.postgresCpuCores, c.loadgenCpuCores, c.otherCpuCores].map((x) => fmt(x, 2)).join(' / ')
    : '–';

/** The results as a Markdown table (printed, and written into docs/performance.md). */
export function markdownTable(r: BenchResults): string {
  const rows = [
    '| scenario | req/s | pgbench limit (tps) | ratio | p50 ms | p95 ms | p99 ms | CPU µs/request: service / postgres (pgbench: postgres) | postgres vs frozen baseline: its µs/tx; service ÷ it (pgbench ÷ it) | CPU cores: service / postgres / load gen / other | limit run CPU: service (idle) / postgres / pgbench / other | service RSS peak MB | valid |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const line = (
    name: string,
    valid: boolean,
    load: LoadResult,
    limit: ScenarioResult['limit'],
    ratio: number | null,
    svc: Cpu & { rssPeakMb: number },
    perReq: string,
    vsBaseline: string,
    reason: string | null,
    noisyNote?: string,
  ) =>
    `| ${name} | ${valid ? fmt(load.rps) : '**INVALID**'} | ${limit ? fmt(limit.tps) : '–'} | ${valid ? pct(ratio) : '–'} | ${fmt(load.latencyMs.p50, 2)} | ${fmt(load.latencyMs.p95, 2)} | ${fmt(load.latencyMs.p99, 2)} | ${perReq} | ${vsBaseline} | ${cpu(svc)} | ${cpu(limit?.cpu)} | ${fmt(svc.rssPeakMb, 1)} | ${valid ? (noisyNote ?? 'yes') : `no: ${reason}`} |`;
  for (const s of r.scenarios) {
    const pg = r.mode === 'embedded' ? 'in the service' : fmt(s.postgresCpuUsPerRequest);
    const perReq = `${fmt(s.serviceCpuUsPerRequest)} / ${pg}${s.postgresCpuUsPerLimitTx !== null ? ` (${fmt(s.postgresCpuUsPerLimitTx)})` : ''}`;
    const note = s.noisy
      ? `yes, disturbed (other work: ${fmt(s.service.otherCpuCores, 2)} / ${fmt(s.limit?.cpu.otherCpuCores, 2)} cores)`
      : undefined;
    const b = s.baseline?.valid ? s.baseline.postgresCpuUsPerTx : null;
    const vsBaseline = b
      ? `${fmt(b)}; ${fmt(s.postgresCpuUsPerRequest / b, 2)}×${s.postgresCpuUsPerLimitTx !== null ? ` (${fmt(s.postgresCpuUsPerLimitTx / b, 2)}×)` : ''}`
      : '–';
    rows.push(line(s.name, s.valid, s.load, s.limit, s.ratio, s.service, perReq, vsBaseline, s.invalidReason, note));
  }
  if (r.soak) {
    const perReq = `${fmt((r.soak.service.serviceCpuCores / r.soak.load.rps) * 1e6)} / ${fmt((r.soak.service.postgresCpuCores / r.soak.load.rps) * 1e6)}`;
    rows.push(
      line(
        `soak (${r.soak.mix.join('+')}, ${Math.round(r.soak.seconds)} s)`,
        r.soak.valid,
        r.soak.load,
        null,
        null,
        r.soak.service,
        perReq,
        '–',
        r.soak.load.invalidReason,
      ),
    );
  }
  return rows.join('\n');
}

export function targetsTable(r: BenchResults): string {
  const rows = ['| target | measured | needed | met |', '|---|---:|---:|---|'];
  for (const t of r.targets) {
    const value =
      t.value === null
        ? '–'
        : t.id.endsWith('-ratio')
          ? pct(t.value)
          : t.id === 'soak-rss'
            ? `${(t.value * 100).toFixed(1)}%`
            : t.id.endsWith('-p99')
              ? `${t.value} ms`
              : `${t.value}×`;
    const verdict = t.threshold === '–' ? '(reference)' : t.met === null ? 'not measured' : t.met ? 'yes' : '**no**';
    rows.push(`| ${t.description} | ${value} | ${t.threshold} | ${verdict}${t.noisyRun ? ' (disturbed run)' : ''} |`);
  }
  return rows.join('\n');
}
