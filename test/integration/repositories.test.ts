import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import { claimKey, completeKey, releaseKey } from '../../src/persistence/idempotency-repository.js';
import { migrateToLatest } from '../../src/persistence/migrations/index.js';
import { appendHistory, findOrder, insertOrder, listHistory, listOrders, lockOrder, saveOrderState } from '../../src/persistence/order-repository.js';
import { findProduct, findProducts, listActiveProducts, releaseStock, reserveStock, upsertProduct } from '../../src/persistence/product-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import { claimUnsettled, findTransaction, insertTransaction, moveTransaction } from '../../src/persistence/transaction-repository.js';
import { DATABASES, databaseUrlFor } from '../helpers/db.js';
import { uid } from '../helpers/http.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe.each(DATABASES)('repositories on %s', (kind) => {
  let handle: DbHandle;
  let drop: () => Promise<void>;
  let db: Kysely<Database>;

  beforeAll(async () => {
    const target = await databaseUrlFor(kind);
    drop = target.drop;
    handle = await createDb({ url: target.url, poolSize: 5, statementTimeoutMs: 10_000 });
    db = handle.db;
    await migrateToLatest(db as never);
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  const product = (id: string, extra: Partial<{ price: number; stock: number | null; active: boolean; currency: string; name: string }> = {}) =>
    upsertProduct(db, { id, name: extra.name ?? `Name ${id}`, price: extra.price ?? 1000, currency: extra.currency ?? 'USD', active: extra.active ?? true, stock: extra.stock === undefined ? null : extra.stock }, NOW);

  /** An order with its transaction, as completeCharge would write them. */
  async function makeOrder(userId: string, createdAt: string, opts: { id?: string; status?: Order['status'] } = {}): Promise<Order> {
    const id = opts.id ?? randomUUID();
    const transactionId = randomUUID();
    const items = [{ product_id: 'p', name: 'P', quantity: 2, unit_price: 250, line_total: 500 }];
    const order: Order = {
      id, user_id: userId, status: opts.status ?? 'pending', currency: 'USD', items, total: 500,
      payment: { transaction_id: transactionId, provider: 'sandbox', provider_reference: `ref_${transactionId}`, status: 'succeeded', amount: 500, currency: 'USD' },
      email: `${userId}@example.com`, shipping_address: null, tracking: null, created_at: createdAt, updated_at: createdAt,
    };
    await db.transaction().execute(async (trx) => {
      await insertTransaction(trx, {
        id: transactionId, provider: 'sandbox', source: 'pm_card_visa', reconcileAfter: new Date(Date.now() + 3_600_000), now: new Date(createdAt),
        draft: { order_id: id, user_id: userId, currency: 'USD', items, total: 500, email: order.email, shipping_address: null, idempotency_key: null },
      });
      await moveTransaction(trx, transactionId, 'processing', 'succeeded', { provider_reference: order.payment.provider_reference });
      await insertOrder(trx, order);
    });
    return order;
  }

  describe('products', () => {
    it('upsert creates, then replaces every field; find reads it back', async () => {
      const id = uid('prod');
      const created = await product(id, { price: 1999, stock: 5 });
      expect(created).toMatchObject({ id, name: `Name ${id}`, price: 1999, currency: 'USD', active: true, stock: 5 });
      expect(created.created_at).toBe(NOW.toISOString());
      const later = new Date(NOW.getTime() + 60_000);
      const replaced = await upsertProduct(db, { id, name: 'Renamed', price: 2500, currency: 'EUR', active: false, stock: null }, later);
      expect(replaced).toMatchObject({ id, name: 'Renamed', price: 2500, currency: 'EUR', active: false, stock: null, created_at: NOW.toISOString(), updated_at: later.toISOString() });
      expect(await findProduct(db, id)).toEqual(replaced);
      expect(await findProduct(db, uid('missing'))).toBeUndefined();
    });

    it('keeps large prices exact (bigint column, safe-integer JS number)', async () => {
      const id = uid('big');
      await product(id, { price: Number.MAX_SAFE_INTEGER });
      expect((await findProduct(db, id))?.price).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('findProducts returns only the ids that exist', async () => {
      const [a, b] = [uid('a'), uid('b')];
      await product(a);
      await product(b);
      const found = await findProducts(db, [a, b, uid('nope')]);
      expect([...found.keys()].sort()).toEqual([a, b].sort());
      expect((await findProducts(db, [])).size).toBe(0);
    });

    it('lists active products only, by id, in keyset pages', async () => {
      const prefix = uid('list');
      const ids = ['c', 'a', 'e', 'b', 'd'].map((s) => `${prefix}_${s}`);
      for (const id of ids) await product(id);
      await product(`${prefix}_bb`, { active: false });
      const seen: string[] = [];
      let after: string | null = `${prefix}_`; // start just before this test's ids
      for (;;) {
        const page: { id: string }[] = (await listActiveProducts(db, 2, after)).filter((p) => p.id.startsWith(prefix));
        if (page.length === 0) break;
        seen.push(...page.map((p) => p.id));
        after = page[page.length - 1]!.id;
      }
      expect(seen).toEqual([...ids].sort());
    });
  });

  describe('stock', () => {
    it('reserves atomically and releases', async () => {
      const [a, b] = [uid('sa'), uid('sb')];
      await product(a, { stock: 5 });
      await product(b, { stock: 2 });
      const short = await db.transaction().execute((trx) => reserveStock(trx, [{ product_id: a, quantity: 3 }, { product_id: b, quantity: 2 }]));
      expect(short).toEqual([]);
      expect((await findProduct(db, a))?.stock).toBe(2);
      expect((await findProduct(db, b))?.stock).toBe(0);
      await db.transaction().execute((trx) => releaseStock(trx, [{ product_id: a, quantity: 3 }, { product_id: b, quantity: 1 }]));
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
    });

    it('not enough stock returns the short ids (and the caller rolls back)', async () => {
      const [a, b, c] = [uid('na'), uid('nb'), uid('nc')];
      await product(a, { stock: 5 });
      await product(b, { stock: 1 });
      await product(c, { stock: 0 });
      const rolledBack = new Error('rollback');
      let short: string[] = [];
      await expect(
        db.transaction().execute(async (trx) => {
          short = await reserveStock(trx, [{ product_id: a, quantity: 1 }, { product_id: b, quantity: 2 }, { product_id: c, quantity: 1 }]);
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
      expect(short.sort()).toEqual([b, c].sort());
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
      expect((await findProduct(db, c))?.stock).toBe(0);
    });

    it('exactly the remaining stock can be taken', async () => {
      const a = uid('ex');
      await product(a, { stock: 3 });
      expect(await db.transaction().execute((trx) => reserveStock(trx, [{ product_id: a, quantity: 3 }]))).toEqual([]);
      expect(await db.transaction().execute((trx) => reserveStock(trx, [{ product_id: a, quantity: 1 }]))).toEqual([a]);
      expect((await findProduct(db, a))?.stock).toBe(0);
    });

    it('unlimited stock (null) is never touched, by reserve or release', async () => {
      const u = uid('un');
      await product(u, { stock: null });
      expect(await db.transaction().execute((trx) => reserveStock(trx, [{ product_id: u, quantity: 1000 }]))).toEqual([]);
      await db.transaction().execute((trx) => releaseStock(trx, [{ product_id: u, quantity: 7 }]));
      expect((await findProduct(db, u))?.stock).toBeNull();
    });
  });

  describe('orders', () => {
    it('insert then find returns the whole order, items in position order', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.123Z');
      expect(await findOrder(db, o.id)).toEqual(o);
      expect(await db.transaction().execute((trx) => lockOrder(trx, o.id))).toEqual(o);
      expect(await findOrder(db, randomUUID())).toBeUndefined();
    });

    it('saveOrderState persists status, tracking and updated_at', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.000Z', { status: 'processing' });
      const shipped: Order = { ...o, status: 'shipped', tracking: { carrier: 'UPS', number: '1Z' }, updated_at: '2026-03-02T00:00:00.000Z' };
      await db.transaction().execute((trx) => saveOrderState(trx, shipped));
      expect(await findOrder(db, o.id)).toEqual(shipped);
    });

    it('lists newest first (created_at desc, id desc), ties broken by id, pages see each order once', async () => {
      const user = uid('keyset');
      const tie = '2026-03-01T09:00:00.000Z';
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const orders = [
        await makeOrder(user, '2026-03-01T08:00:00.000Z'),
        ...(await Promise.all(ids.map((id) => makeOrder(user, tie, { id })))),
        await makeOrder(user, '2026-03-01T10:00:00.000Z'),
        await makeOrder(user, '2026-03-01T09:00:00.001Z', { status: 'cancelled' }),
      ];
      await makeOrder(uid('someone-else'), '2026-03-01T09:30:00.000Z');
      const expected = [...orders].sort((x, y) => (x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1)).map((o) => o.id);

      expect((await listOrders(db, user, { limit: 100, after: null })).map((o) => o.id)).toEqual(expected);
      for (const size of [1, 2, 4]) {
        const seen: string[] = [];
        let after: { created_at: string; id: string } | null = null;
        for (;;) {
          const page: Order[] = await listOrders(db, user, { limit: size, after });
          seen.push(...page.map((o) => o.id));
          if (page.length < size) break;
          const last: Order = page[page.length - 1]!;
          after = { created_at: last.created_at, id: last.id };
        }
        expect(seen).toEqual(expected);
      }
      const cancelled = await listOrders(db, user, { limit: 100, after: null, status: 'cancelled' });
      expect(cancelled.map((o) => o.id)).toEqual([orders[5]!.id]);
      expect(await listOrders(db, uid('nobody'), { limit: 10, after: null })).toEqual([]);
    });

    it('history is kept in insertion order', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.000Z');
      await db.transaction().execute(async (trx) => {
        await appendHistory(trx, o.id, { to: 'pending', at: '2026-03-01T10:00:00.000Z', actor: o.user_id, note: null });
        await appendHistory(trx, o.id, { to: 'processing', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: 'packing' });
        await appendHistory(trx, o.id, { to: 'shipped', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: null });
      });
      expect(await listHistory(db, o.id)).toEqual([
        { status: 'pending', at: '2026-03-01T10:00:00.000Z', actor: o.user_id, note: null },
        { status: 'processing', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: 'packing' },
        { status: 'shipped', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: null },
      ]);
      expect(await listHistory(db, randomUUID())).toEqual([]);
    });
  });

  describe('idempotency keys', () => {
    const later = () => new Date(Date.now() + 3_600_000);
    const claim = (user: string, key: string, fp: string, expires = later()) => db.transaction().execute((trx) => claimKey(trx, user, key, fp, expires));

    it('claimed → in_progress → completed (replays the stored response); another body is a mismatch', async () => {
      const [user, key] = [uid('u'), uid('key')];
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'claimed' });
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'in_progress' });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
      await db.transaction().execute((trx) => completeKey(trx, user, key, { status: 201, body: { id: 'o1', total: 5 } }));
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'completed', response: { status: 201, body: { id: 'o1', total: 5 } } });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
    });

    it('keys are per user', async () => {
      const key = uid('shared');
      expect(await claim(uid('u1'), key, 'fp')).toEqual({ state: 'claimed' });
      expect(await claim(uid('u2'), key, 'other')).toEqual({ state: 'claimed' });
    });

    it('a claim rolled back with its transaction leaves the key free', async () => {
      const [user, key] = [uid('u'), uid('key')];
      await expect(db.transaction().execute(async (trx) => {
        await claimKey(trx, user, key, 'fp', later());
        throw new Error('rollback');
      })).rejects.toThrow('rollback');
      expect(await claim(user, key, 'different')).toEqual({ state: 'claimed' });
    });

    it('a released in-progress key can be claimed again; a completed one is not released', async () => {
      const [user, key] = [uid('u'), uid('key')];
      await claim(user, key, 'fp');
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'claimed' });
      await db.transaction().execute((trx) => completeKey(trx, user, key, { status: 402, body: { code: 'payment_declined' } }));
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'completed', response: { status: 402, body: { code: 'payment_declined' } } });
    });

    it('an expired key (in progress or completed) is re-claimable, with any body', async () => {
      const [user, k1, k2] = [uid('u'), uid('k1'), uid('k2')];
      const past = new Date(Date.now() - 1000);
      await claim(user, k1, 'fp', past);
      expect(await claim(user, k1, 'new-body')).toEqual({ state: 'claimed' });
      expect(await claim(user, k1, 'new-body')).toEqual({ state: 'in_progress' });
      await claim(user, k2, 'fp', past);
      await db.transaction().execute((trx) => completeKey(trx, user, k2, { status: 201, body: {} }));
      expect(await claim(user, k2, 'fp')).toEqual({ state: 'claimed' });
    });
  });

  describe('payment transactions', () => {
    it('move only from the expected status; findTransaction shows the result', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.000Z');
      const id = o.payment.transaction_id;
      expect((await findTransaction(db, id))?.status).toBe('succeeded');
      expect(await moveTransaction(db, id, 'processing', 'failed')).toBe(false);
      expect((await findTransaction(db, id))?.status).toBe('succeeded');
      expect(await moveTransaction(db, id, 'succeeded', 'refund_pending')).toBe(true);
      expect(await moveTransaction(db, id, 'succeeded', 'refund_pending')).toBe(false); // a racing second cancel
      expect(await moveTransaction(db, id, ['processing', 'refund_pending'], 'refunded', { amount_refunded: 500 })).toBe(true);
      expect(await findTransaction(db, id)).toMatchObject({ status: 'refunded', amount: 500, amount_refunded: 500, order_id: o.id, customer_id: o.user_id });
      expect(await moveTransaction(db, randomUUID(), 'processing', 'succeeded')).toBe(false);
    });

    it('claimUnsettled takes due processing/refund_pending rows once, under a lease', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.000Z');
      const id = o.payment.transaction_id;
      await moveTransaction(db, id, 'succeeded', 'refund_pending', { next_attempt_at: new Date(Date.now() - 1000) });
      const lease = new Date(Date.now() + 60_000);
      const first = await db.transaction().execute((trx) => claimUnsettled(trx, 1000, lease));
      expect(first.map((t) => t.id)).toContain(id);
      const second = await db.transaction().execute((trx) => claimUnsettled(trx, 1000, lease));
      expect(second.map((t) => t.id)).not.toContain(id);
    });
  });
});
