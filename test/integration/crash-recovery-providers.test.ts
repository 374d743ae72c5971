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
 * A real crash with a real provider: the service runs as a child process,
 * talking through the provider's SDK to its emulator (in this process). It is
 * SIGKILLed after the provider charged the card and before the order was
 * committed. After a restart the reconciler must find the charge at the
 * provider (the service never learnt its id) and finish the order: exactly one
 * order, exactly one charge, no refund, and the client's retry with its
 * Idempotency-Key gets that order back.
 */
describe.each(REAL_PROVIDERS)('crash between a %s charge and the commit', (id) => {
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
  const json = (tok: string, idem?: string) => ({ authorization: `Bearer ${tok}`, 'content-type': 'application/json', ...(idem ? { 'idempotency-key': idem } : {}) });
  async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
    for (let i = 0; i < 150; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}:\n${server?.output() ?? ''}`);
  }

  it('recovers the order after a restart: one order, one charge, and the retry replays it', { timeout: 120_000 }, async () => {
    const p = providerView(emu, id);
    const token = await sign('dave', { email: 'dave@example.com' });
    const admin = await sign('boss', { roles: ['admin'] });
    const body = JSON.stringify({ items: [{ product_id: 'sku_crash', quantity: 2 }], currency: 'USD', payment: { provider: id, source: p.source(1400) } });

    server = await startServerProcess({ ...env(), WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500', ORDER_API_FAULT: 'crash-after-charge' });
    const put = await fetch(`${server.url}/api/products/sku_crash`, {
      method: 'PUT',
      headers: json(admin),
      body: JSON.stringify({ name: 'Crash', price: 700, currency: 'USD', active: true, stock: 3 }),
    });
    expect(put.status).toBe(200);

    await expect(fetch(`${server.url}/api/orders`, { method: 'POST', headers: json(token, 'crash-key-1'), body })).rejects.toThrow();
    expect((await server.exited).signal).toBe('SIGKILL');

    // Charged at the provider, not committed here: a processing transaction without the provider's id, no order.
    const stuck = await db.selectFrom('payment_transactions').selectAll().execute();
    expect(stuck).toHaveLength(1);
    const txId = stuck[0]!.id;
    expect(stuck[0]).toMatchObject({ status: 'processing', provider: id, provider_reference: null });
    expect(await db.selectFrom('orders').selectAll().execute()).toHaveLength(0);
    expect(p.charges(txId)).toBe(1);

    server = await startServerProcess({ ...env(), RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' });
    let orders: { id: string }[] = [];
    for (let i = 0; i < 150 && orders.length === 0; i++) {
      orders = await db.selectFrom('orders').select('id').execute();
      if (orders.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(orders, server.output()).toHaveLength(1);
    const settled = await db.selectFrom('payment_transactions').selectAll().where('id', '=', txId).executeTakeFirstOrThrow();
    expect(settled.status).toBe('succeeded');
    expect(settled.provider_reference).toEqual(expect.any(String));
    expect(p.charges(txId)).toBe(1);
    expect(p.refunds(settled.provider_reference!)).toEqual([]);

    const retry = await fetch(`${server.url}/api/orders`, { method: 'POST', headers: json(token, 'crash-key-1'), body });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const order = (await retry.json()) as { id: string; total: number; payment: { provider: string; provider_reference: string; status: string } };
    expect(order).toMatchObject({ id: orders[0]!.id, total: 1400, payment: { provider: id, provider_reference: settled.provider_reference, status: 'succeeded' } });

    const got = await fetch(`${server.url}/api/orders/${order.id}`, { headers: json(token) });
    expect(((await got.json()) as { payment: unknown }).payment).toEqual(order.payment);
    const product = (await (await fetch(`${server.url}/api/products/sku_crash`, { headers: json(token) })).json()) as { stock: number };
    expect(product.stock).toBe(1);
    expect(await db.selectFrom('orders').selectAll().execute()).toHaveLength(1);
    expect(await db.selectFrom('payment_transactions').selectAll().execute()).toHaveLength(1);
    // Nothing else moved at the provider: one charge in all, still one after the retry.
    expect(p.charges(txId)).toBe(1);
    const allCharges = {
      stripe: () => [...emu.stripe.intents.values()].filter((x) => x.status === 'succeeded').length,
      square: () => [...emu.square.payments.values()].filter((x) => x.status === 'COMPLETED').length,
      paypal: () => emu.paypal.captures.size,
    }[id];
    expect(allCharges()).toBe(1);
  });

  it('killed while refunding a cancelled order, after the provider made the refund: the restart finishes it with no second refund', { timeout: 120_000 }, async () => {
    const p = providerView(emu, id);
    const token = await sign('erin', { email: 'erin@example.com' });
    const admin = await sign('boss', { roles: ['admin'] });
    await server?.stop('SIGKILL');
    server = await startServerProcess({ ...env(), WORKERS_ENABLED: 'false', RECONCILE_AFTER_MS: '500' });
    const put = await fetch(`${server.url}/api/products/sku_refund`, {
      method: 'PUT',
      headers: json(admin),
      body: JSON.stringify({ name: 'Refund', price: 900, currency: 'USD', active: true, stock: 4 }),
    });
    expect(put.status).toBe(200);
    const created = await fetch(`${server.url}/api/orders`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ items: [{ product_id: 'sku_refund', quantity: 1 }], currency: 'USD', payment: { provider: id, source: p.source(900) } }),
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string; payment: { transaction_id: string; provider_reference: string } };
    const ref = order.payment.provider_reference;

    // The provider makes the refund but its answers never arrive; the process dies meanwhile.
    p.emulator.hangAfterNext(10, p.refundPath);
    const cancel = fetch(`${server.url}/api/orders/${order.id}/cancel`, { method: 'POST', headers: json(token), body: '{}' }).then(
      (r) => r.status,
      () => 'no answer' as const,
    );
    await until(() => (p.refunds(ref).length > 0 ? true : undefined), 'the refund at the provider');
    server.child.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(await cancel).toBe('no answer');
    p.emulator.resetFaults();
    const refund = () =>
      db.selectFrom('payment_ledger').select('status').where('transaction_id', '=', order.payment.transaction_id).where('kind', '=', 'refund').executeTakeFirstOrThrow();
    expect(await refund()).toEqual({ status: 'pending' });
    expect(await db.selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow()).toEqual({ status: 'cancelled' });

    server = await startServerProcess({ ...env(), RECONCILE_AFTER_MS: '0', RECONCILE_INTERVAL_MS: '100' });
    await until(async () => {
      const r = await refund();
      return r.status === 'succeeded' ? r : undefined;
    }, 'the refund to settle');
    expect(p.refunds(ref)).toEqual([900]);
    const got = (await (await fetch(`${server.url}/api/orders/${order.id}`, { headers: json(token) })).json()) as { status: string; payment: { status: string } };
    expect(got).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });
    const product = (await (await fetch(`${server.url}/api/products/sku_refund`, { headers: json(token) })).json()) as { stock: number };
    expect(product.stock).toBe(4);
  });
});
