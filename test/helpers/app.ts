import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { buildApp, type AppOptions, type OrderApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createAdyenProvider } from '../../src/payments/adyen.js';
import { createMollieProvider } from '../../src/payments/mollie.js';
import type { ProviderOptions } from '../../src/payments/options.js';
import { createPayPalProvider } from '../../src/payments/paypal.js';
import { createPaymentProcessor } from '../../src/payments/processor.js';
import { createSquareProvider } from '../../src/payments/square.js';
import { createStripeProvider } from '../../src/payments/stripe.js';
import { createDb } from '../../src/persistence/db.js';
import { migrateToLatest } from '../../src/persistence/migrations/index.js';
import type { Database } from '../../src/persistence/tables.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { databaseUrlFor, type DatabaseKind } from './db.js';
import { runScratch } from './run-scratch.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface TestApp {
  app: OrderApp;
  db: Kysely<Database>;
  config: Readonly<Config>;
  /** A bearer token for `sub` (HS256 with the test secret). */
  token: (sub: string, claims?: Record<string, unknown>) => Promise<string>;
  adminToken: () => Promise<string>;
  /** The emulators its providers are pointed at (option `emulators`); reading it without them throws. */
  emulators: Emulators;
  /** Its base URL, `http://127.0.0.1:<port>` (option `listen`); reading it when not listening throws. */
  url: string;
  /** Closes the app, then what it opened (its database, emulators it started); throws if it answered a 5xx bug. */
  close: () => Promise<void>;
}

/** How buildTestApp builds the app; every option may be left out. */
export interface TestAppOptions {
  /** Environment over the test defaults (NODE_ENV=test, the test JWT secret), as `loadConfig` reads it. */
  env?: Record<string, string>;
  /** buildApp's replacements for what lies outside the machine: payments, clock, faults, verifier. */
  app?: Partial<Omit<AppOptions, 'config' | 'db'>>;
  /**
   * Stripe, Square, PayPal, Adyen and Mollie pointed at these emulators (their `env` under `env`);
   * `'start'` starts them for this app, and close() stops them.
   */
  emulators?: Emulators | 'start';
  /** With `emulators`: the five providers built with these SDK options (short timeouts, test/payments/harness.ts's FAST). */
  sdk?: ProviderOptions;
  /** With an app to share the database with: connect through a pool of its own, as another instance of the service does. */
  ownPool?: boolean;
  /** Listen on 127.0.0.1, on this port or (true) any free one: `url` says where. Otherwise it is driven through `app.inject`. */
  listen?: true | number;
  /**
   * `lifted` (the default): limits so high that functional tests creating many orders never meet them.
   * `configured`: the limits the environment gives, as production has them.
   */
  rateLimits?: 'lifted' | 'configured';
  /**
   * Every injected response is watched: a 500 (a bug) fails the test at close() even when the test
   * looked elsewhere (502/503 are contractual answers, left to the tests that expect them). Set this
   * for an app a test makes answer 500 on purpose.
   */
  allowInternalErrors?: boolean;
}

const LIFTED_RATE_LIMITS = { RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_CREATE_PER_MINUTE: '1000000' };

/**
 * Where a test app's rows live: `'pglite'` or `'postgres'`, a fresh database of that kind (PGlite in
 * memory, or a fresh schema on the PostgreSQL server), migrated, and dropped at close; an app already
 * built, to share its database (starting an embedded database costs seconds, a second app on it —
 * other configuration, fault injection — milliseconds; closing it leaves the database to the first);
 * or `{ url }`, a database taken as it is, neither migrated nor dropped (one that cannot be reached).
 */
export type TestDatabase = DatabaseKind | TestApp | { url: string };

/**
 * The one way a test builds the app in its own process: the real app (`buildApp`) on a real
 * database, driven through `app.inject`, or a real socket with `listen`. (Tests that run the service
 * as another process use server-process.ts or crash-harness.ts; buildTestAppPerDescribe is this
 * builder run in a describe block's hooks.)
 */
export async function buildTestApp(database: TestDatabase, opts: TestAppOptions = {}): Promise<TestApp> {
  let url: string;
  let pglite: PGlite | undefined;
  let drop: () => Promise<void> = async () => {};
  let shared: Kysely<Database> | undefined;
  if (typeof database === 'string') ({ url, pglite, drop } = await databaseUrlFor(database));
  else if (!('app' in database)) url = database.url;
  else if (opts.ownPool) url = database.config.database.url;
  // A second app's configuration names no database of its own: it is given the first one's.
  else [url, shared] = ['memory://', database.db];
  const emulators = opts.emulators === 'start' ? await startEmulators() : opts.emulators;
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    DATABASE_URL: url,
    DATA_DIR: join(runScratch(), 'order-api-test'),
    ...(opts.rateLimits === 'configured' ? {} : LIFTED_RATE_LIMITS),
    ...emulators?.env,
    ...opts.env,
  });
  const opened = shared ? undefined : await createDb({ ...config.database, pglite });
  const db = shared ?? opened!.db;
  if (typeof database === 'string') await migrateToLatest(db as never);
  const payments = emulators && opts.sdk ? await providersWith(config, opts.sdk) : undefined;
  const app = await buildApp({ config, db, logger: false, ...(payments && { payments }), ...opts.app });
  await app.ready();
  const bugs = watchForBugs(app);
  const address =
    opts.listen === undefined
      ? undefined
      : await app.listen({ port: opts.listen === true ? 0 : opts.listen, host: '127.0.0.1' });
  const key = new TextEncoder().encode(TEST_SECRET);
  const token = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ email: `${sub}@example.com`, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  return {
    app,
    db,
    config,
    token,
    adminToken: () => token('admin', { roles: ['admin'] }),
    get emulators(): Emulators {
      if (!emulators) throw new Error('this test app has no emulators: build it with the `emulators` option');
      return emulators;
    },
    get url(): string {
      if (!address) throw new Error('this test app does not listen: build it with the `listen` option');
      return address;
    },
    close: async () => {
      await app.close();
      await opened?.close();
      await drop();
      if (opts.emulators === 'start') await emulators?.close();
      if (bugs.length > 0 && !opts.allowInternalErrors)
        throw new Error(`the app answered with a 5xx bug:\n${bugs.join('\n')}`);
    },
  };
}

/**
 * buildTestApp for the tests of one describe block: built in its beforeAll, closed in its afterAll
 * (one per database under describe.each(DATABASES)). What it returns stands for what beforeAll
 * builds: tests and helpers use it as the thing itself, from inside a test or a later hook (read
 * before the beforeAll has run, it throws). `emu` is the app's emulators (option `emulators`); with
 * `resetAfterEach`, the faults and refund outcomes a test set on them are undone after it.
 */
export function buildTestAppPerDescribe(
  database: DatabaseKind,
  opts: TestAppOptions & { resetAfterEach?: boolean } = {},
): { t: TestApp; emu: Emulators } {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await buildTestApp(database, opts);
  });
  if (opts.resetAfterEach) {
    afterEach(() => {
      if (t) resetEmulators(t.emulators);
    });
  }
  afterAll(async () => {
    await t?.close();
  });
  return { t: standIn(() => t, 'app'), emu: standIn(() => t?.emulators, 'emulators') };
}

/** The five emulators back to answering normally: no faults, refunds that succeed. */
function resetEmulators(emu: Emulators): void {
  for (const e of [emu.stripe, emu.square, emu.paypal, emu.adyen, emu.mollie]) e.resetFaults();
  emu.stripe.refundStatus = 'succeeded';
  emu.adyen.refundStatus = 'succeeded';
  emu.mollie.refundStatus = 'succeeded';
  emu.square.refundStatus = 'COMPLETED';
  emu.paypal.refundStatus = 'COMPLETED';
}

/** The providers the service's registry would build from `config`, with these SDK options. */
function providersWith(config: Readonly<Config>, sdk: ProviderOptions) {
  return createPaymentProcessor(config, {
    stripe: createStripeProvider(config.stripe!, sdk),
    square: createSquareProvider(config.square!, sdk),
    paypal: createPayPalProvider(config.paypal!, sdk),
    adyen: createAdyenProvider(config.adyen!, sdk),
    mollie: createMollieProvider(config.mollie!, { ...sdk, webhookUrl: `${config.publicBaseUrl}/api/webhooks/mollie` }),
  });
}

/** Records every injected response that is a 5xx other than the contractual 502 and 503. */
function watchForBugs(app: OrderApp): string[] {
  const bugs: string[] = [];
  const inject = app.inject.bind(app) as (o: unknown) => Promise<{ statusCode: number; body: string }>;
  (app as unknown as { inject: unknown }).inject = async (o: { method?: string; url?: string }) => {
    const res = await inject(o);
    if (res.statusCode >= 500 && res.statusCode !== 502 && res.statusCode !== 503)
      bugs.push(`${o.method ?? 'GET'} ${o.url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res;
  };
  return bugs;
}

/** Reads every property from what `current` returns at the time of the read. */
function standIn<T extends object>(current: () => T | undefined, what: string): T {
  const target = () => {
    const value = current();
    if (!value)
      throw new Error(`the describe's ${what} is not started: read it inside a test or a hook after its beforeAll`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(target(), key),
    has: (_, key) => Reflect.has(target(), key),
  });
}

/** A product put through the admin route, as a user of the API would. */
export async function putProduct(
  t: TestApp,
  id: string,
  body: { name?: string; price: number; currency?: string; active?: boolean; stock?: number | null },
) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/api/products/${id}`,
    headers: { authorization: `Bearer ${await t.adminToken()}` },
    payload: {
      name: body.name ?? id,
      price: body.price,
      currency: body.currency ?? 'USD',
      active: body.active ?? true,
      stock: body.stock ?? null,
    },
  });
  if (res.statusCode !== 200) throw new Error(`putProduct ${id}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export function orderBody(
  items: { product_id: string; quantity: number; unit_price?: number }[],
  source = 'pm_card_visa',
  extra: Record<string, unknown> = {},
) {
  return { items, currency: 'USD', payment: { provider: 'sandbox', source }, ...extra };
}
