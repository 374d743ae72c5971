import { randomBytes } from 'node:crypto';
import { freePortBlock, startCluster, type Cluster } from '../../deploy/cluster.js';
import { startHaPostgres, type HaPostgres } from '../../deploy/ha-postgres.js';
import { startEmulators, type Emulators } from '../../test/emulators/index.js';
import { ACTION_TIMEOUT_S } from '../traffic/customer-action.js';
import { startEmailSink, type EmailSink } from './email-sink.js';
import { startPrivateRabbit, type PrivateRabbit } from './rabbitmq.js';
import { startPrivateRedis, type PrivateRedis } from './redis.js';
import { startRelay, type RelayProcess } from './relay.js';

/**
 * Everything the soak runs on, each piece private to this run: a pg_auto_failover pair
 * (deploy/ha-postgres.ts, its own ports and directory), a RabbitMQ node and a Redis of its own, the
 * provider emulators of test/emulators, an email sink, N instances behind nginx (deploy/cluster.ts)
 * and a relay process apart. close() stops all of it, whatever failed.
 */
export interface Rig {
  ha: HaPostgres;
  rabbit: PrivateRabbit;
  redis: PrivateRedis;
  emulators: Emulators;
  email: EmailSink;
  cluster: Cluster;
  relay: RelayProcess;
  jwtSecret: string;
  /** The environment every instance started with (a deploy adds to it). */
  env: Record<string, string | undefined>;
  output(): string;
  close(): Promise<void>;
}

export interface RigOptions {
  instances: number;
  /** Where the processes' output goes (default: the last 200 kB are kept for output()). */
  onOutput?: (source: string, text: string) => void;
}

export async function startRig(opts: RigOptions): Promise<Rig> {
  let log = '';
  const out =
    opts.onOutput ?? ((source: string, text: string) => void (log = (log + `[${source}] ${text}`).slice(-200_000)));
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => out('rig', `cleanup: ${String(err)}\n`));
    cleanups.length = 0;
  };
  try {
    const [haPort, rabbitPort, redisPort] = [await freePortBlock(3), await freePortBlock(2), await freePortBlock(1)];
    // The slow ones side by side: the formation (~30 s) and the broker (~20 s).
    const [ha, rabbit] = await Promise.all([
      startHaPostgres({ port: haPort, onOutput: (s, t) => out(`pg ${s}`, t) }).then(
        (h) => (cleanups.push(() => h.stop()), h),
      ),
      startPrivateRabbit(rabbitPort).then((r) => (cleanups.push(() => r.stop()), r)),
    ]);
    const redis = await startPrivateRedis(redisPort);
    cleanups.push(() => redis.stop());
    const emulators = await startEmulators();
    cleanups.push(() => emulators.close());
    const email = await startEmailSink();
    cleanups.push(() => email.close());
    const jwtSecret = randomBytes(32).toString('base64url');
    const env: Record<string, string | undefined> = {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn',
      DATABASE_URL: ha.url,
      DATABASE_POOL_SIZE: '6',
      DATABASE_STATEMENT_TIMEOUT_MS: '5000',
      JWT_SECRET: jwtSecret,
      JWT_JWKS_URL: undefined,
      JWT_ISSUER: undefined,
      JWT_AUDIENCE: undefined,
      REDIS_URL: redis.url,
      AMQP_URL: rabbit.url,
      EMAIL_URL: email.url,
      SMTP_URL: undefined,
      ...emulators.env,
      PAYMENT_CAPTURE: 'immediate',
      // Abandoned 3-D Secure payments end within the run.
      PAYMENT_ACTION_TIMEOUT_SECONDS: String(ACTION_TIMEOUT_S),
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
      // Work left by a killed request is taken over within seconds, not so soon that slow requests on
      // a loaded machine are overtaken.
      RECONCILE_AFTER_MS: '3000',
      RECONCILE_INTERVAL_MS: '1000',
      OUTBOX_POLL_MS: '200',
      OUTBOX_BACKOFF_BASE_MS: '200',
      OUTBOX_BACKOFF_MAX_MS: '2000',
      OUTBOX_DELIVERY_TIMEOUT_MS: '3000',
      OUTBOX_MAX_ATTEMPTS: '1000',
    };
    // Loading the server's modules takes a minute or more on a loaded 2-core machine.
    const cluster = await startCluster({
      instances: opts.instances,
      port: 0,
      env,
      onOutput: out,
      healthTimeoutMs: 240_000,
    });
    cleanups.push(() => cluster.stop());
    const relay = startRelay(env, out);
    cleanups.push(() => relay.stop());
    return { ha, rabbit, redis, emulators, email, cluster, relay, jwtSecret, env, output: () => log, close };
  } catch (err) {
    await close();
    throw new Error(`the soak rig did not start: ${(err as Error).message}\n${log.slice(-4000)}`);
  }
}
