import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { SignJWT } from 'jose';
import { runLoad, type LoadResult } from './lib/load.js';
import { withClient } from './lib/pg.js';
import { measureWindow } from './lib/proc.js';

/**
 * `tsx bench/tracing.ts [--before DIR] [--seconds N] [--rounds N]`: what tracing costs a request
 * (docs/operations.md, "What it costs"). The same service several ways, each its own process on its
 * own PostgreSQL schema, driven in turn, round after round, so a machine shared with other work
 * weighs on all of them alike:
 *   before   the tree at DIR (a checkout of main before tracing, sharing this node_modules), if given;
 *   off      this tree, no OTLP endpoint (the default);
 *   on       exporting to a collector that answers at once (a sink here, outside the service);
 *   sampled  the same, keeping one trace in ten (OTEL_TRACES_SAMPLER=parentbased_traceidratio);
 *   down     exporting to an address where nothing listens;
 *   slow     exporting to a collector that accepts and never answers.
 * For each: requests per second, latency and the service's CPU per request (utime+stime from /proc).
 */
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const seconds = Number(opt('--seconds') ?? 10);
const rounds = Number(opt('--rounds') ?? 3);
const connections = Number(opt('--connections') ?? 8);
const beforeDir = opt('--before');
const PG_URL = process.env.BENCH_TRACING_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const secret = randomBytes(32).toString('base64url');
const key = new TextEncoder().encode(secret);

const sink = await listen((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
// Accepts and reads, never answers: the exporter's timeout (OTEL_EXPORTER_OTLP_TIMEOUT) has to cut it.
const stalled = await listen((req) => req.resume());
const closedPort = await freePort();

const VARIANTS: { name: string; cwd: string; env: Record<string, string> }[] = [
  ...(beforeDir ? [{ name: 'before', cwd: resolve(beforeDir), env: {} }] : []),
  { name: 'off', cwd: process.cwd(), env: {} },
  { name: 'on', cwd: process.cwd(), env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } },
  {
    name: 'sampled',
    cwd: process.cwd(),
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    },
  },
  { name: 'down', cwd: process.cwd(), env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}` } },
  { name: 'slow', cwd: process.cwd(), env: { OTEL_EXPORTER_OTLP_ENDPOINT: stalled.url } },
];
if (beforeDir && !existsSync(resolve(beforeDir, 'src/server.ts')))
  throw new Error(`${beforeDir} holds no src/server.ts`);

interface Running {
  name: string;
  url: string;
  child: ChildProcess;
  orders: string[];
  token: string;
}

const admin = await new SignJWT({ roles: ['admin'] })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('bench_admin')
  .setExpirationTime('2h')
  .sign(key);
const running: Running[] = [];
const schemas: string[] = [];
const children: ChildProcess[] = [];
try {
  for (const v of VARIANTS) running.push(await start(v));
  const results: Record<string, { scenario: string; load: LoadResult; cpuMsPerRequest: number }[]> = {};
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of ['get', 'create'] as const) {
      for (const r of round % 2 ? running : [...running].reverse()) {
        const window = measureWindow({ servicePid: r.child.pid ?? null, dbName: null });
        const load = await runLoad(r.url, scenario === 'get' ? getOrder(r) : createOrder(r), { connections, seconds });
        const w = window.stop();
        const cpuMsPerRequest = ((w.serviceCpuCores * w.seconds) / Math.max(1, load.requests)) * 1000;
        (results[r.name] ??= []).push({ scenario, load, cpuMsPerRequest });
        console.log(
          `round ${round} ${scenario.padEnd(6)} ${r.name.padEnd(7)} ${load.rps.toFixed(0).padStart(5)} req/s  p50 ${load.latencyMs.p50.toFixed(1)} ms  p99 ${load.latencyMs.p99.toFixed(1)} ms  CPU ${cpuMsPerRequest.toFixed(2)} ms/req  ${load.valid ? '' : load.invalidReason}  (load ${loadavg()[0]!.toFixed(1)})`,
        );
      }
    }
  }
  console.log('\nmedian over the rounds: req/s, p99 ms, service CPU ms per request');
  for (const scenario of ['get', 'create']) {
    for (const [name, rs] of Object.entries(results)) {
      const of = rs.filter((r) => r.scenario === scenario);
      console.log(
        `${scenario.padEnd(6)} ${name.padEnd(7)} ${median(of.map((r) => r.load.rps))
          .toFixed(0)
          .padStart(5)}  ${median(of.map((r) => r.load.latencyMs.p99))
          .toFixed(1)
          .padStart(6)}  ${median(of.map((r) => r.cpuMsPerRequest)).toFixed(2)}`,
      );
    }
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
  await withClient(PG_URL, async (c) => {
    for (const schema of schemas) await c.query(`drop schema if exists ${schema} cascade`);
  });
  sink.server.close();
  stalled.server.closeAllConnections();
  stalled.server.close();
}

async function start(v: (typeof VARIANTS)[number]): Promise<Running> {
  const schema = `bench_tracing_${v.name}_${process.pid}`;
  await withClient(PG_URL, (c) => c.query(`create schema ${schema}`));
  schemas.push(schema);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: v.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: url.toString(),
      JWT_SECRET: secret,
      LOG_LEVEL: 'warn',
      WORKERS_ENABLED: 'false',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
      ...v.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 180_000; ;) {
    if (child.exitCode !== null) throw new Error(`${v.name} exited during start`);
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`${v.name} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const put = await fetch(`${base}/api/products/sku_bench`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', price: 1000, currency: 'USD', active: true, stock: null }),
  });
  if (put.status !== 200) throw new Error(`${v.name}: PUT product ${put.status}`);
  const token = await new SignJWT({ email: 'bench@example.com' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench_user')
    .setExpirationTime('2h')
    .sign(key);
  const r: Running = { name: v.name, url: base, child, orders: [], token };
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${base}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: orderBody(),
    });
    if (res.status !== 201) throw new Error(`${v.name}: create ${res.status} ${await res.text()}`);
    r.orders.push(((await res.json()) as { id: string }).id);
  }
  console.log(`${v.name} ready (${base})`);
  return r;
}

function orderBody(): string {
  return JSON.stringify({
    items: [{ product_id: 'sku_bench', quantity: 1 }],
    currency: 'USD',
    payment: { provider: 'sandbox', source: 'pm_card_visa' },
  });
}
function getOrder(r: Running) {
  let i = 0;
  return () => ({ method: 'GET' as const, path: `/api/orders/${r.orders[i++ % r.orders.length]}`, token: r.token });
}
function createOrder(r: Running) {
  return () => ({ method: 'POST' as const, path: '/api/orders', token: r.token, body: orderBody() });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function freePort(): Promise<number> {
  const { server } = await listen(() => undefined);
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
