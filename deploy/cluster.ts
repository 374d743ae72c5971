import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { startHaPostgres, type HaPostgres } from './ha-postgres.js';

/**
 * N instances of the service behind nginx on one machine: `npm run cluster -- --instances 3`, and
 * `startCluster()` for the scale-out tests. Instances are `node --import tsx src/server.ts` (the
 * server itself is the child, so a signal reaches it directly), on ports basePort+1…; nginx runs in
 * the foreground from deploy/nginx/order-api.conf rendered into a temporary directory.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SITE = join(ROOT, 'deploy', 'nginx', 'order-api.conf');

export interface ClusterOptions {
  instances: number;
  /** Environment of every instance, on top of this process's; DATABASE_URL must be a PostgreSQL server. */
  env?: Record<string, string | undefined>;
  /** nginx's port (default 8100; 0: a free block below the ephemeral range); the instances take the next ones. */
  port?: number;
  /** Where instance and nginx output goes (default: kept in memory, see `output`). */
  onOutput?: (source: string, text: string) => void;
  /** How long an instance may take to answer /healthz when it starts (default 60 s; a loaded machine needs more). */
  healthTimeoutMs?: number;
}

export interface Instance {
  port: number;
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Cluster {
  /** nginx, the address clients use. */
  url: string;
  instances: Instance[];
  nginx: ChildProcess;
  output: () => string;
  /**
   * Starts instance `index` again on its port once its process has exited (after a crash or a
   * deploy's SIGTERM), with `env` on top of the cluster's (a deploy that changes configuration);
   * resolves when it is healthy. nginx sends it traffic again after its fail_timeout.
   */
  restart: (index: number, env?: Record<string, string | undefined>) => Promise<Instance>;
  /** SIGTERM to every instance (they drain), then nginx; removes the temporary directory. */
  stop: () => Promise<void>;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const nginxBin = findNginx();
  const port = opts.port === 0 ? await freePortBlock(opts.instances + 1) : (opts.port ?? 8100);
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL ?? '')) {
    throw new Error('the cluster needs DATABASE_URL=postgres://… (instances cannot share an embedded database)');
  }
  // Without JWT configuration each instance would read the development secret in DATA_DIR: make it
  // exist before they start, so they do not race to create it.
  loadConfig(env);

  const dir = mkdtempSync(join(tmpdir(), 'order-api-cluster-'));
  chmodSync(dir, 0o755);
  let log = '';
  const out = opts.onOutput ?? ((source: string, text: string) => void (log += `[${source}] ${text}`));

  const ports = Array.from({ length: opts.instances }, (_, i) => port + 1 + i);
  writeFileSync(join(dir, 'order-api.conf'), renderSite(readFileSync(SITE, 'utf8'), { port, ports, logDir: dir }));
  writeFileSync(join(dir, 'nginx.conf'), mainConf(dir));
  const check = spawnSync(
    nginxBin,
    ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    { encoding: 'utf8' },
  );
  if (check.status !== 0) throw new Error(`nginx rejected the generated configuration:\n${check.stderr}`);

  const instances: Instance[] = [];
  let nginx: ChildProcess | undefined;
  const stop = async () => {
    await Promise.all(instances.map((i) => terminate(i.child, 'SIGTERM', 30_000)));
    if (nginx) await terminate(nginx, 'SIGQUIT', 5_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) instances.push(startInstance(p, env, out));
    await Promise.all(instances.map((i) => waitHealthy(i.url, i.child, opts.healthTimeoutMs)));
    nginx = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pipe(nginx, 'nginx', out);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, nginx);
    const restart = async (index: number, extra: Record<string, string | undefined> = {}) => {
      const old = instances[index];
      if (!old) throw new Error(`no instance ${index}`);
      await old.exited;
      const fresh = startInstance(old.port, { ...env, ...extra }, out);
      instances[index] = fresh;
      await waitHealthy(fresh.url, fresh.child, opts.healthTimeoutMs);
      return fresh;
    };
    return { url, instances, nginx, output: () => log + safeRead(join(dir, 'error.log')), restart, stop };
  } catch (err) {
    await stop();
    throw new Error(`the cluster did not start: ${(err as Error).message}\n${log}`);
  }
}

/** The site file with this cluster's instances, listen address and log directory. */
export function renderSite(
  site: string,
  { port, ports, logDir }: { port: number; ports: number[]; logDir: string },
): string {
  const servers = ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n');
  const rendered = site
    .replace(/# BEGIN instances\n[\s\S]*?# END instances/, `# BEGIN instances\n${servers}\n    # END instances`)
    .replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${port};`)
    .replaceAll('/var/log/nginx/', `${logDir}/`);
  if (!rendered.includes(`listen 127.0.0.1:${port};`) || !rendered.includes(servers))
    throw new Error(`${SITE} lost its markers`);
  return rendered;
}

function mainConf(dir: string): string {
  // Workers run as root only when we are root (CI): they must read and write this private directory.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `    ${t}_temp_path ${dir}/${t};`)
    .join('\n');
  return `${user}daemon off;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
${temp}
    include ${dir}/order-api.conf;
}
`;
}

function startInstance(
  port: number,
  env: Record<string, string | undefined>,
  out: (s: string, t: string) => void,
): Instance {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    // Only nginx on this machine may set X-Forwarded-For; instances listen on loopback only.
    env: { TRUST_PROXY: '127.0.0.1', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipe(child, String(port), out);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { port, url: `http://127.0.0.1:${port}`, child, exited };
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${url}: the process exited while starting`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function pipe(child: ChildProcess, source: string, out: (s: string, t: string) => void) {
  child.stdout?.on('data', (d: Buffer) => out(source, d.toString()));
  child.stderr?.on('data', (d: Buffer) => out(source, d.toString()));
}

function findNginx(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error('nginx is not installed (Debian: apt-get install -y nginx-light)');
}

/** `count` consecutive free loopback ports, below Linux's ephemeral range so no outgoing socket takes one meanwhile. */
export async function freePortBlock(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 1200) * 10;
    let ok = true;
    for (let p = base; ok && p < base + count; p++) ok = await free(p);
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found`);
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * `npm run cluster -- --instances 3 [--port 8100] [--ha [--ha-port 25432]]`: runs until Ctrl-C or
 * SIGTERM. `--ha` starts a pg_auto_failover formation (monitor on --ha-port, nodes on the next two
 * ports) and points the instances at both nodes with a multi-host DATABASE_URL.
 */
async function main(argv: string[]) {
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    const n = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const instances = arg('instances', 3);
  const port = arg('port', 8100);
  let ha: HaPostgres | undefined;
  if (argv.includes('--ha')) {
    const haPort = arg('ha-port', 25432);
    console.log(
      `starting PostgreSQL with automated failover: monitor on ${haPort}, nodes on ${haPort + 1} and ${haPort + 2}`,
    );
    ha = await startHaPostgres({
      port: haPort,
      onOutput: (s, t) => process.stdout.write(t.replace(/^(?=.)/gm, `[pg ${s}] `)),
    });
    console.log(
      `formation ready: ${ha.url}  (monitor: ${ha.monitorUrl}; state: pg_autoctl show state --monitor ${ha.monitorUrl.replace('postgres@', 'autoctl_node@')})`,
    );
  }
  // The machine's services unless the environment names others.
  const env = {
    DATABASE_URL: ha?.url ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  };
  console.log(
    `starting ${instances} instances on ports ${port + 1}-${port + instances} (database ${env.DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')})`,
  );
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      instances,
      port,
      env,
      onOutput: (s, t) => process.stdout.write(t.replace(/^(?=.)/gm, `[${s}] `)),
    });
  } catch (err) {
    await ha?.stop();
    throw err;
  }
  console.log(
    `\nready: ${cluster.url}  (docs: ${cluster.url}/docs; a token: npm run token -- --sub alice)\nCtrl-C stops everything.`,
  );
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstopping: instances drain, then nginx${ha ? ', then the database formation' : ''}`);
    await cluster.stop();
    await ha?.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  for (const i of cluster.instances) {
    void i.exited.then(
      ({ code, signal }) =>
        !stopping && console.error(`instance ${i.port} exited (${signal ?? code}); nginx routes around it`),
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
