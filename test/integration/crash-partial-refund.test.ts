import { SignJWT } from 'jose';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/persistence/tables.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { TEST_SECRET } from '../helpers/app.js';
import { freshPgSchema } from '../helpers/db.js';
import { providerView, REAL_PROVIDERS } from '../helpers/payments.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * A real crash during a partial refund: the service runs as a child process, talking through the
 * provider's SDK to its emulator, and is SIGKILLed after the provider made the refund of a partial
 * cancel and before the answer was committed. The restart's reconciler retries the same ledger row
 * (its id is the provider's idempotency key): exactly one refund of exactly those units, and the
 * units cancelled and restocked once.
 */
describe.each(REAL_PROVIDERS)('crash between a %s partial refund and its commit', (id) => {
  let emu: Emulators;
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let db: Kysely<Database>;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    emu = await startEmulators();
    schema = await freshPgSchema();
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 2 }) }) });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await db?.destroy();
    await schema?.drop();
    await emu?.close();
  });

  const env = () => ({ ...emu.env, DATABASE_URL: schema.url, JWT_SECRET: TEST_SECRET });
  const sign = (sub: string, claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(TEST_SECRET));
  const json = (tok: string) => ({ authorization: `Bearer ${tok}`, 'content-type': 'application/json' });
  async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
    for (let i = 0; i < 150; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}:\n${server?.output() ?? ''}`);
  }

  it('the restart finishes the same refund: one refund of the cancelled units, nothing twice', { timeout: 120_000 }, async () => {
    const p = providerView(emu, id);
    const token = await sign('frank', { email: 'frank@example.com' });
    const admin = await sign('boss', { roles: ['admin'] });
    server = await startServerProcess({ ...env(), WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500' });
    const put = await fetch(`${server.url}/api/products/sku_part`, {
      method: 'PUT',
      headers: json(admin),
      body: JSON.stringify({ name: 'Part', price: 600, currency: 'USD', active: true, stock: 5 }),
    });
    expect(put.status).toBe(200);
    const created = await fetch(`${server.url}/api/orders`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ items: [{ product_id: 'sku_part', quantity: 3 }], currency: 'USD', payment: { provider: id, source: p.source(1800) } }),
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string; payment: { transaction_id: string; provider_reference: string } };
    const ref = order.payment.provider_reference;

    // The provider makes the refund but its answers never arrive; the process dies meanwhile.
    p.emulator.hangAfterNext(10, p.refundPath);
    const cancel = fetch(`${server.url}/api/orders/${order.id}/cancel`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ items: [{ product_id: 'sku_part', quantity: 2 }] }),
    }).then(
      (r) => r.status,
      () => 'no answer' as const,
    );
    await until(() => (p.refunds(ref).length > 0 ? true : undefined), 'the refund at the provider');
    server.child.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(await cancel).toBe('no answer');
    p.emulator.resetFaults();
    const refunds = () =>
      db.selectFrom('payment_ledger').select(['status', 'amount']).where('transaction_id', '=', order.payment.transaction_id).where('kind', '=', 'refund').execute();
    expect((await refunds()).map((r) => [r.status, Number(r.amount)])).toEqual([['pending', 1200]]);

    server = await startServerProcess({ ...env(), RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' });
    await until(async () => ((await refunds()).every((r) => r.status === 'succeeded') ? true : undefined), 'the refund to settle');
    expect(p.refunds(ref)).toEqual([1200]);
    expect((await refunds()).map((r) => [r.status, Number(r.amount)])).toEqual([['succeeded', 1200]]);
    const got = (await (await fetch(`${server.url}/api/orders/${order.id}`, { headers: json(token) })).json()) as Record<string, unknown>;
    expect(got).toMatchObject({
      status: 'pending',
      current_total: 600,
      items: [{ quantity: 3, quantity_cancelled: 2 }],
      payment: { status: 'partially_refunded', amount_refunded: 1200 },
    });
    const product = (await (await fetch(`${server.url}/api/products/sku_part`, { headers: json(token) })).json()) as { stock: number };
    expect(product.stock).toBe(4);
  });
});
