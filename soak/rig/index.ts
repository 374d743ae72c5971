import { randomBytes } from 'node:crypto';
import { freePortBlock, startCluster, type Cluster } from '../../deploy/cluster.js';
import { startHaPostgres, type HaPostgres } from '../../deploy/ha-postgres.js';
import { startEmulators, type Emulators } from '../../test/emulators/index.js';
import type { Deadlines } from '../audit/sources.js';
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
  /** The reconciler's deadlines in that environment, for the drain and the audit. */
  deadlines: Deadlines;
  output(): string;
  close(): Promise<void>;
}

export interface RigOptions {
  instances: number;
  /** Where the processes' output goes (default: the last 200 kB are kept for output()). */
  onOutput?: (source: string, text: string) => void;
}

/**
 * The reconciler's deadlines, short enough for a test that the drain outlives them, long enough for
 * what they guard on a loaded machine: a request's charge takes up to ~35 s (three SDK attempts of
 * 10 s), so a charge the provider has never heard of is given 90 s, as is one Adyen never answered;
 * a killed pass's charges come back after 90 s; the backoff between looks is capped at 20 s. Abandoned
 * payments end at PAYMENT_ACTION_TIMEOUT_SECONDS, their provider sessions 5 s later (the traffic's).
 */
const SOAK_DEADLINES: Deadlines = {
  reconcileAfterMs: 3000,
  reconcileIntervalMs: 1000,
  leaseMs: 90_000,
  notFoundGraceMs: 90_000,
  unansweredChargeMs: 90_000,
  retryMaxMs: 20_000,
  actionTimeoutMs: ACTION_TIMEOUT_S * 1000,
  providerSessionMs: (ACTION_TIMEOUT_S + 5) * 1000,
};

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
      PAYMENT_ACTION_TIMEOUT_SECONDS: String(SOAK_DEADLINES.actionTimeoutMs / 1000),
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
      // Work left by a killed request is taken over within seconds, not so soon that slow requests on
      // a loaded machine are overtaken.
      RECONCILE_AFTER_MS: String(SOAK_DEADLINES.reconcileAfterMs),
      RECONCILE_INTERVAL_MS: String(SOAK_DEADLINES.reconcileIntervalMs),
      RECONCILE_LEASE_MS: String(SOAK_DEADLINES.leaseMs),
      RECONCILE_NOT_FOUND_GRACE_MS: String(SOAK_DEADLINES.notFoundGraceMs),
      RECONCILE_UNANSWERED_CHARGE_MS: String(SOAK_DEADLINES.unansweredChargeMs),
      RECONCILE_RETRY_MAX_MS: String(SOAK_DEADLINES.retryMaxMs),
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
    const deadlines = SOAK_DEADLINES;
    return { ha, rabbit, redis, emulators, email, cluster, relay, jwtSecret, env, deadlines, output: () => log, close };
  } catch (err) {
    await close();
    throw new Error(`the soak rig did not start: ${(err as Error).message}\n${log.slice(-4000)}`);
  }
}
