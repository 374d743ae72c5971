import { SignJWT } from 'jose';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Database } from '../../src/persistence/tables.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { TEST_SECRET } from './app.js';
import { freshPgSchema } from './db.js';
import type { ProviderView } from './payments.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

/**
 * Crash tests: the real service as a child process over a fresh PostgreSQL schema, SIGKILLed at a
 * fault point and started again. The schema outlives each process, so the test reads what the dead
 * one left through `db`. With `emulators`, the providers' emulators run in this process and every
 * start is configured for them.
 */
export interface CrashHarness {
  readonly db: Kysely<Database>;
  readonly emu: Emulators;
  /** The process started last. */
  readonly server: ServerProcess;
  /** Starts the service (killing the one before, if it still runs) with the schema, the test secret and `env`. */
  start(env?: Record<string, string>): Promise<ServerProcess>;
  sign(sub: string, claims?: Record<string, unknown>): Promise<string>;
  /** A request to the process started last, as `token`'s holder; a body is sent as JSON. */
  call(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Puts a product on sale (as `admin`) and orders `quantity` of it (as `token`), paid from `payment`: the order created. */
  orderProduct(
    admin: string,
    token: string,
    product: Product,
    quantity: number,
    payment: { provider: string; source: string },
  ): Promise<CreatedOrder>;
  /**
   * The first run of a crash after a charge: `sku_crash` (700, 3 in stock) on sale, then `buyer`'s
   * order of 2 paid from `payment` under an Idempotency-Key, sent to a process whose fault point kills
   * it once the provider charged. Returns the buyer's token and the client's retry of that request.
   */
  crashAfterCharge(
    buyer: string,
    payment: { provider: string; source: string },
  ): Promise<{ token: string; retry: () => Promise<Response> }>;
  /** The request's fault point kills the process: no answer, and the process died of SIGKILL. */
  expectCrash(request: Promise<Response>): Promise<void>;
  /** Polls `probe` every 100 ms until it returns something; fails after 15 s with the process's output. */
  until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T>;
  /**
   * Sends `request` (one that refunds) while the provider makes the refund but never answers, and
   * kills the process once the provider holds the refund: the request gets no answer.
   */
  killDuringRefund(p: ProviderView, reference: string, request: () => Promise<Response>): Promise<void>;
}

interface Product {
  id: string;
  name: string;
  price: number;
  stock: number;
}
interface CreatedOrder {
  id: string;
  payment: { transaction_id: string; provider_reference: string; status: string };
}

/** The first run: no workers, and the reconciler leaves young work alone, so nothing finishes what the crash interrupts. */
export const BEFORE_CRASH = { WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500' } as const;
/** The restart: the reconciler takes up everything left, at once and every 100 ms. */
export const AFTER_CRASH = { RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' } as const;

/** Registers the hooks that make the schema (and the emulators) before the describe's tests and remove them after. */
export function useCrashHarness(options: { emulators?: boolean; env?: Record<string, string> } = {}): CrashHarness {
  let emu: Emulators | undefined;
  let schema: Awaited<ReturnType<typeof freshPgSchema>> | undefined;
  let db: Kysely<Database> | undefined;
  let server: ServerProcess | undefined;
  const key = new TextEncoder().encode(TEST_SECRET);

  beforeAll(async () => {
    if (options.emulators) emu = await startEmulators();
    schema = await freshPgSchema();
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 2 }) }),
    });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await db?.destroy();
    await schema?.drop();
    await emu?.close();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`crash harness: no ${what} (inside a test, and with { emulators: true } for the emulators)`);
    return value;
  };
  const h: CrashHarness = {
    get db() {
      return started(db, 'database');
    },
    get emu() {
      return started(emu, 'emulators');
    },
    get server() {
      return started(server, 'server started');
    },
    async start(env = {}) {
      await server?.stop('SIGKILL');
      server = await startServerProcess({
        ...emu?.env,
        ...options.env,
        DATABASE_URL: started(schema, 'schema').url,
        JWT_SECRET: TEST_SECRET,
        ...env,
      });
      return server;
    },
    sign: (sub, claims = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(key),
    call: (method, path, token, body, headers = {}) =>
      fetch(`${h.server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    async orderProduct(admin, token, { id, ...product }, quantity, payment) {
      expect(
        (await h.call('PUT', `/api/products/${id}`, admin, { ...product, currency: 'USD', active: true })).status,
      ).toBe(200);
      const created = await h.call('POST', '/api/orders', token, {
        items: [{ product_id: id, quantity }],
        currency: 'USD',
        payment,
      });
      expect(created.status).toBe(201);
      return (await created.json()) as CreatedOrder;
    },
    async crashAfterCharge(buyer, payment) {
      const token = await h.sign(buyer, { email: `${buyer}@example.com` });
      const admin = await h.sign('boss', { roles: ['admin'] });
      const body = { items: [{ product_id: 'sku_crash', quantity: 2 }], currency: 'USD', payment };
      const retry = () => h.call('POST', '/api/orders', token, body, { 'idempotency-key': 'crash-key-1' });
      await h.start({ ...BEFORE_CRASH, ORDER_API_FAULT: 'crash-after-charge' });
      expect(
        (
          await h.call('PUT', '/api/products/sku_crash', admin, {
            name: 'Crash',
            price: 700,
            currency: 'USD',
            active: true,
            stock: 3,
          })
        ).status,
      ).toBe(200);
      await h.expectCrash(retry());
      return { token, retry };
    },
    async expectCrash(request) {
      await expect(request).rejects.toThrow();
      expect((await h.server.exited).signal).toBe('SIGKILL');
    },
    async until(probe, what) {
      for (let i = 0; i < 150; i++) {
        const v = await probe();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}:\n${server?.output() ?? ''}`);
    },
    async killDuringRefund(p, reference, request) {
      p.emulator.hangAfterNext(10, p.refundPath);
      const answer = request().then(
        (r) => r.status,
        () => 'no answer' as const,
      );
      await h.until(() => (p.refunds(reference).length > 0 ? true : undefined), 'the refund at the provider');
      h.server.child.kill('SIGKILL');
      expect((await h.server.exited).signal).toBe('SIGKILL');
      expect(await answer).toBe('no answer');
      p.emulator.resetFaults();
    },
  };
  return h;
}
