import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import pg from 'pg';
import { freePortBlock, startCluster, type Cluster } from '../../deploy/cluster.js';
import { startHaPostgres, type HaPostgres } from '../../deploy/ha-postgres.js';
import { StripeEmulator } from '../emulators/stripe-emulator.js';
import { consumeOrderEvents, type EventConsumer } from '../helpers/outbox/amqp.js';
import { TEST_SECRET } from '../helpers/app.js';

/**
 * Everything the failover proof runs on, all started here and all stopped by close() whatever
 * failed: a pg_auto_failover formation (deploy/ha-postgres.ts), the Stripe emulator (charges and
 * refunds counted at the wire), an email sink and a RabbitMQ consumer (outbox deliveries counted by
 * message id), and N instances behind nginx with the multi-host DATABASE_URL.
 */
export interface FailoverRig {
  ha: HaPostgres;
  cluster: Cluster;
  stripe: StripeEmulator;
  /** Email ids (= outbox ids) in arrival order, duplicates kept. */
  emails: string[];
  events: EventConsumer;
  call: (
    sub: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** SQL on whichever node is primary now. */
  sql: <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;
  close: () => Promise<void>;
}

export const STATEMENT_TIMEOUT_MS = 5_000;

export async function startFailoverRig(instances = 2): Promise<FailoverRig> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    // In reverse order, each one even when another failed.
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => errors.push(err));
    cleanups.length = 0;
    if (errors.length) throw new AggregateError(errors, 'failover rig cleanup');
  };
  try {
    const ha = await startHaPostgres({ port: await freePortBlock(3) });
    cleanups.push(() => ha.stop());
    const stripe = await new StripeEmulator().start();
    cleanups.push(() => stripe.close());
    const { server, url: emailUrl, ids: emails } = await emailSink();
    cleanups.push(async () => {
      server.closeAllConnections();
      server.close();
    });
    const events = await consumeOrderEvents();
    cleanups.push(() => events.close());
    const cluster = await startCluster({
      instances,
      port: 0,
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.FAILOVER_LOG_LEVEL ?? 'warn',
        DATABASE_URL: ha.url,
        DATABASE_POOL_SIZE: '6',
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        JWT_SECRET: TEST_SECRET,
        JWT_JWKS_URL: undefined,
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: `order-api-test:${randomBytes(6).toString('hex')}:`,
        AMQP_URL: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
        EMAIL_URL: emailUrl,
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_API_BASE: stripe.url,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_CREATE_PER_MINUTE: '100000',
        // A charge left behind by a request the failover cut off is settled within seconds; not so soon
        // that the reconciler takes over rows of requests that are merely slow on this shared machine.
        RECONCILE_AFTER_MS: '3000',
        RECONCILE_INTERVAL_MS: '500',
        OUTBOX_POLL_MS: '200',
        OUTBOX_BACKOFF_BASE_MS: '200',
        OUTBOX_BACKOFF_MAX_MS: '1000',
      },
    });
    cleanups.push(() => cluster.stop());

    const key = new TextEncoder().encode(TEST_SECRET);
    const token = (sub: string) =>
      new SignJWT({ email: `${sub}@example.com`, ...(sub === 'admin' ? { roles: ['admin'] } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    const call: FailoverRig['call'] = async (sub, method, path, body, headers = {}) => {
      const res = await fetch(`${cluster.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await token(sub)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(STATEMENT_TIMEOUT_MS * 3),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const sql: FailoverRig['sql'] = async (text, params = []) => {
      const primary = await ha.primary();
      if (!primary) throw new Error('no primary');
      const client = new pg.Client({ connectionString: primary.url });
      await client.connect();
      try {
        return (await client.query(text, params)).rows;
      } finally {
        await client.end();
      }
    };
    return { ha, cluster, stripe, emails, events, call, sql, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The company's email service as API.md describes it: POST JSON, any 2xx is delivered. */
async function emailSink(): Promise<{ server: Server; url: string; ids: string[] }> {
  const ids: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      try {
        ids.push(String((JSON.parse(body) as { id: unknown }).id));
        res.writeHead(202).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/emails`, ids };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
