import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL 15 formation with automated failover on one machine, for `npm run cluster -- --ha` and
 * the failover test: a pg_auto_failover monitor and two nodes (primary + synchronous standby) on
 * loopback ports, everything in one temporary directory. pg_autoctl refuses to run as root, so as
 * root every process runs as the `postgres` user. Each `pg_autoctl` is the leader of its own process
 * group (keeper, postmaster and backends), so one signal to the group takes a whole node away — what
 * losing its machine looks like to the others.
 */
export interface HaNode {
  name: string;
  port: number;
  /** Single-host URL of this node (database `orders`, user postgres). */
  url: string;
  child: ChildProcess;
}

export interface HaPostgres {
  /** libpq-style multi-host URL naming both nodes, for DATABASE_URL. */
  url: string;
  monitorUrl: string;
  nodes: HaNode[];
  dir: string;
  /** The node the monitor has as primary and that accepts writes, or undefined. */
  primary(): Promise<HaNode | undefined>;
  /** Resolves once the monitor reports the states given (node name → reported state). */
  waitForStates(want: Record<string, string>, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the node's keeper, postmaster and backends at once. */
  kill(node: HaNode): Promise<void>;
  /**
   * Starts a killed node's keeper again (its machine is back): it rejoins the formation, as the
   * standby when the other node was promoted meanwhile (pg_autoctl rewinds it). Does not wait.
   */
  restart(node: HaNode): void;
  output(): string;
  /** Stops every process (TERM, then KILL) and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface HaOptions {
  /** First of three consecutive ports (monitor, node 1, node 2); keep it below the ephemeral range. */
  port: number;
  /** Monitor health checks tightened so a lost primary is replaced in a few seconds (default true). */
  fastFailover?: boolean;
  onOutput?: (source: string, text: string) => void;
}

const DATABASE = 'orders';

/**
 * The monitor's defaults take about 30 s to give up on a primary (node_considered_unhealthy_timeout
 * 20 s, then primary_demote_timeout 30 s when its keeper is gone too). On loopback a check answers in
 * a millisecond, so seconds are ample; on a real network keep a margin above its worst latency.
 */
const FAST_FAILOVER_SETTINGS: Record<string, number> = {
  'pgautofailover.health_check_period': 1000,
  'pgautofailover.health_check_timeout': 1000,
  'pgautofailover.health_check_max_retries': 1,
  'pgautofailover.health_check_retry_delay': 500,
  'pgautofailover.node_considered_unhealthy_timeout': 2000,
  'pgautofailover.primary_demote_timeout': 2000,
};

function findPgCtl(): string {
  const candidates = ['15', ...safeList('/usr/lib/postgresql').sort().reverse()].map(
    (v) => `/usr/lib/postgresql/${v}/bin/pg_ctl`,
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (Debian: apt-get install postgresql-15)',
    );
  return found;
}

function findPgAutoctl(): string {
  for (const p of ['/usr/bin/pg_autoctl', '/usr/lib/postgresql/15/bin/pg_autoctl']) if (existsSync(p)) return p;
  throw new Error('pg_autoctl is not installed (Debian: apt-get install -y postgresql-15-auto-failover)');
}

export async function startHaPostgres(opts: HaOptions): Promise<HaPostgres> {
  const autoctl = findPgAutoctl();
  const pgctl = findPgCtl();
  const owner = processOwner();
  const dir = mkdtempSync(join(tmpdir(), 'order-api-ha-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  for (const sub of ['config', 'data', 'run']) {
    mkdirSync(join(dir, sub), { mode: 0o700 });
    if (owner) chownSync(join(dir, sub), owner.uid, owner.gid);
  }
  let log = '';
  const out = opts.onOutput ?? ((source: string, text: string) => void (log += `[${source}] ${text}`));
  const [monitorPort, ...nodePorts] = [opts.port, opts.port + 1, opts.port + 2] as [number, number, number];
  const monitorUrl = `postgres://postgres@127.0.0.1:${monitorPort}/pg_auto_failover`;
  const children: ChildProcess[] = [];
  const nodes: HaNode[] = [];

  const env = {
    PATH: `${join(pgctl, '..')}:/usr/bin:/bin`,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
  };
  const run = (name: string, args: string[]): ChildProcess => {
    const child = spawn(autoctl, args, {
      cwd: dir,
      env,
      detached: true, // its own process group: see kill()
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(owner ?? {}),
    });
    child.stdout?.on('data', (d: Buffer) => out(name, d.toString()));
    child.stderr?.on('data', (d: Buffer) => out(name, d.toString()));
    children.push(child);
    return child;
  };
  const common = ['--auth', 'trust', '--no-ssl', '--pgctl', pgctl, '--hostname', '127.0.0.1'];

  const monitorSql = async <T>(text: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: monitorUrl, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const states = async (): Promise<Record<string, string>> => {
    const rows = await monitorSql<{ nodename: string; reportedstate: string }>(
      'select nodename, reportedstate from pgautofailover.node',
    );
    return Object.fromEntries(rows.map((r) => [r.nodename, r.reportedstate]));
  };
  const waitForStates = async (want: Record<string, string>, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = null;
    for (;;) {
      for (const c of children)
        if (c.exitCode !== null)
          throw new Error(`pg_autoctl exited (${c.exitCode}) while waiting for ${JSON.stringify(want)}`);
      try {
        last = await states();
        const now = last as Record<string, string>;
        if (Object.entries(want).every(([n, s]) => now[n] === s)) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline)
        throw new Error(
          `the formation did not reach ${JSON.stringify(want)} in ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  let stopped = false;
  const killAll = (signal: NodeJS.Signals) => {
    for (const c of children)
      if (c.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, signal);
        } catch {
          // already gone
        }
      }
  };
  // A test runner that dies mid-test must not leave PostgreSQL servers behind.
  const onExit = () => {
    killAll('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killAll('SIGTERM');
    const exits = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit'));
    const timer = setTimeout(() => killAll('SIGKILL'), 10_000);
    await Promise.all(exits);
    clearTimeout(timer);
    // Backends outlive an exited keeper for a moment; nothing of the group may keep the directory busy.
    killAll('SIGKILL');
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    run('monitor', [
      'create',
      'monitor',
      '--pgdata',
      join(dir, 'monitor'),
      '--pgport',
      String(monitorPort),
      ...common,
      '--run',
    ]);
    await waitFor(async () => (await monitorSql('select 1')).length === 1, 60_000, 'the monitor to accept connections');
    if (opts.fastFailover !== false) {
      for (const [name, value] of Object.entries(FAST_FAILOVER_SETTINGS))
        await monitorSql(`alter system set ${name} = ${value}`);
      await monitorSql('select pg_reload_conf()');
    }
    const monitorNodeUrl = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover`;
    for (const [i, port] of nodePorts.entries()) {
      const name = `node${i + 1}`;
      const child = run(name, [
        'create',
        'postgres',
        '--pgdata',
        join(dir, name),
        '--pgport',
        String(port),
        '--name',
        name,
        '--listen',
        '127.0.0.1',
        '--dbname',
        DATABASE,
        '--monitor',
        monitorNodeUrl,
        ...common,
        '--run',
      ]);
      nodes.push({ name, port, url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`, child });
      // One at a time: the second node is initialised from the first one's base backup.
      if (i === 0) await waitForStates({ node1: 'single' }, 90_000);
      else {
        // pg_basebackup asks for a spread checkpoint (minutes, with checkpoint_timeout's default); an
        // immediate one requested meanwhile finishes it at once.
        const hurry = setInterval(() => void nodeSql(nodes[0]!.url, 'checkpoint').catch(() => undefined), 1000);
        try {
          await waitForStates({ node1: 'primary', node2: 'secondary' }, 90_000);
        } finally {
          clearInterval(hurry);
        }
      }
    }
  } catch (err) {
    await stop();
    throw new Error(`the HA PostgreSQL formation did not start: ${(err as Error).message}\n${log.slice(-4000)}`);
  }

  return {
    url: `postgres://postgres@${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/${DATABASE}?target_session_attrs=read-write`,
    monitorUrl,
    nodes,
    dir,
    primary: async () => {
      for (const node of nodes) {
        const client = new pg.Client({ connectionString: node.url, connectionTimeoutMillis: 1000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const { rows } = await client.query<{ transaction_read_only: string }>('show transaction_read_only');
          if (rows[0]?.transaction_read_only === 'off') return node;
        } catch {
          // down or starting
        } finally {
          await client.end().catch(() => undefined);
        }
      }
      return undefined;
    },
    waitForStates,
    kill: async (node) => {
      if (!node.child.pid) return;
      const exited =
        node.child.exitCode === null && node.child.signalCode === null ? once(node.child, 'exit') : Promise.resolve();
      process.kill(-node.child.pid, 'SIGKILL');
      await exited;
    },
    restart: (node) => {
      if (node.child.exitCode === null && node.child.signalCode === null)
        throw new Error(`${node.name} is still running`);
      node.child = run(node.name, ['run', '--pgdata', join(dir, node.name)]);
    },
    output: () => log,
    stop,
  };
}

async function nodeSql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function processOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root, pg_autoctl needs the postgres user (Debian creates it with postgresql-15)');
  return { uid, gid };
}

function safeList(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
