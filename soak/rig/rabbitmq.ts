import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';

const run = promisify(execFile);

/**
 * A RabbitMQ node of the soak's own: its own name, ports, data and logs in a temporary directory,
 * no plugins. The machine's broker is shared with everyone else's tests, so the soak stops and
 * starts only this one. The scripts under /usr/lib/rabbitmq/bin are called directly (not the
 * /usr/sbin wrappers, which switch to the rabbitmq user and its home): the node and rabbitmqctl
 * then share the Erlang cookie of HOME = the temporary directory, as root or not.
 */
export interface PrivateRabbit {
  url: string;
  node: string;
  /** stop_app: the broker application and its listeners go away, every connection closes. */
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /** Until a client can open a channel again. */
  waitAccepting(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const BIN = '/usr/lib/rabbitmq/bin';

export async function startPrivateRabbit(port: number): Promise<PrivateRabbit> {
  if (!existsSync(join(BIN, 'rabbitmq-server')))
    throw new Error(`RabbitMQ is not installed (${BIN}/rabbitmq-server; Debian: apt-get install rabbitmq-server)`);
  const dir = mkdtempSync(join(tmpdir(), 'soak-rabbit-'));
  chmodSync(dir, 0o700);
  const node = `soak-${process.pid}-${port}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users = none\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 1),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  const ctl = (args: string[], timeout = 120_000) =>
    run(join(BIN, 'rabbitmqctl'), ['-n', node, ...args], { env, timeout, cwd: dir });
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const waitAccepting = async (timeoutMs = 90_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const conn = await connect(url, { timeout: 2000 }).catch(() => null);
      if (conn) {
        conn.on('error', () => undefined);
        await conn.close().catch(() => undefined);
        return;
      }
      if (Date.now() > until) throw new Error(`the private RabbitMQ ${node} does not accept connections`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await ctl(['stop'], 60_000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(join(BIN, 'rabbitmq-server'), ['-detached'], { env, timeout: 30_000, cwd: dir });
    // (rabbitmqctl await_startup fails at once while the node has not yet registered with epmd.)
    await waitAccepting(180_000);
  } catch (err) {
    await stop();
    throw new Error(`the private RabbitMQ did not start: ${(err as Error).message}`);
  }
  return {
    url,
    node,
    stopApp: async () => void (await ctl(['stop_app'], 60_000)),
    startApp: async () => void (await ctl(['start_app'])),
    waitAccepting,
    stop,
  };
}
