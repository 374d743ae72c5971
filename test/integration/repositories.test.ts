import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import { completeKey, inspectKey, releaseKey, type KeyClaim } from '../../src/persistence/idempotency-repository.js';
import { migrateToLatest } from '../../src/persistence/migrations/index.js';
import {
  appendHistory,
  findOrder,
  listHistory,
  listOrders,
  lockOrder,
} from '../../src/persistence/order-repository.js';
import { listLedger } from '../../src/persistence/ledger.js';
import { recordStatusChange } from '../../src/persistence/status-change.js';
import {
  findProduct,
  findProducts,
  listActiveProducts,
  releaseStock,
  upsertProduct,
} from '../../src/persistence/product-repository.js';
import { reserveOrder } from '../../src/persistence/reservation.js';
import { settleNewOrder } from '../../src/persistence/settlement.js';
import { emailMessage, eventMessage } from '../../src/domain/messages.js';
import type { Database } from '../../src/persistence/tables.js';
import {
  claimUnsettled,
  findTransaction,
  moveCharge,
  scheduleRetry,
  type NewTransaction,
} from '../../src/persistence/transaction-repository.js';
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
    handle = await createDb({ url: target.url, poolSize: 5, statementTimeoutMs: 10_000, pglite: target.pglite });
    db = handle.db;
    await migrateToLatest(db as never);
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  const product = (
    id: string,
    extra: Partial<{ price: number; stock: number | null; active: boolean; currency: string; name: string }> = {},
  ) =>
    upsertProduct(
      db,
      {
        id,
        name: extra.name ?? `Name ${id}`,
        price: extra.price ?? 1000,
        currency: extra.currency ?? 'USD',
        active: extra.active ?? true,
        stock: extra.stock === undefined ? null : extra.stock,
      },
      NOW,
    );

  /** An order with its transaction, as completeCharge would write them. */
  async function makeOrder(
    userId: string,
    createdAt: string,
    opts: { id?: string; status?: Order['status'] } = {},
  ): Promise<Order> {
    const id = opts.id ?? randomUUID();
    const transactionId = randomUUID();
    const items = [
      {
        product_id: 'p',
        name: 'P',
        quantity: 2,
        unit_price: 250,
        line_total: 500,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ];
    const order: Order = {
      id,
      user_id: userId,
      status: opts.status ?? 'pending',
      currency: 'USD',
      items,
      total: 500,
      current_total: 500,
      payment: {
        transaction_id: transactionId,
        provider: 'sandbox',
        provider_reference: `ref_${transactionId}`,
        status: 'succeeded',
        amount: 500,
        currency: 'USD',
        amount_authorized: 500,
        amount_captured: 500,
        amount_refunded: 0,
        authorization_expires_at: null,
        next_action: null,
      },
      email: `${userId}@example.com`,
      shipping_address: null,
      tracking: null,
      created_at: createdAt,
      updated_at: createdAt,
    };
    await reserveOrder(db, {
      stocked: [],
      key: null,
      transaction: {
        id: transactionId,
        provider: 'sandbox',
        source: 'pm_card_visa',
        capture: 'immediate',
        reconcileAfterMs: 3_600_000,
        now: new Date(createdAt),
        draft: {
          order_id: id,
          user_id: userId,
          currency: 'USD',
          items,
          total: 500,
          email: order.email,
          shipping_address: null,
          idempotency_key: null,
        },
      },
    });
    const settled = await settleNewOrder(db, {
      reference: order.payment.provider_reference!,
      order,
      first: { to: 'pending', at: createdAt, actor: userId, note: null },
      messages: [],
      key: null,
      authorizationExpiresAt: null,
      now: new Date(createdAt),
    });
    expect(settled).toBe(true);
    await db.deleteFrom('order_status_history').where('order_id', '=', id).execute(); // the tests below write their own
    return order;
  }

  /** A transaction to record with a reservation (its draft is not priced from the catalog here). */
  const newTransaction = (userId: string): NewTransaction => ({
    id: randomUUID(),
    provider: 'sandbox',
    source: 'pm_card_visa',
    capture: 'immediate',
    reconcileAfterMs: 3_600_000,
    now: NOW,
    draft: {
      order_id: randomUUID(),
      user_id: userId,
      currency: 'USD',
      items: [],
      total: 500,
      email: null,
      shipping_address: null,
      idempotency_key: null,
    },
  });
  const reserve = (
    stocked: { product_id: string; quantity: number }[],
    key: KeyClaim | null = null,
    transaction = newTransaction(key?.userId ?? uid('u')),
  ) => reserveOrder(db, { stocked, key, transaction });

  describe('products', () => {
    it('upsert creates, then replaces every field; find reads it back', async () => {
      const id = uid('prod');
      const created = await product(id, { price: 1999, stock: 5 });
      expect(created).toMatchObject({ id, name: `Name ${id}`, price: 1999, currency: 'USD', active: true, stock: 5 });
      expect(created.created_at).toBe(NOW.toISOString());
      const later = new Date(NOW.getTime() + 60_000);
      const replaced = await upsertProduct(
        db,
        { id, name: 'Renamed', price: 2500, currency: 'EUR', active: false, stock: null },
        later,
      );
      expect(replaced).toMatchObject({
        id,
        name: 'Renamed',
        price: 2500,
        currency: 'EUR',
        active: false,
        stock: null,
        created_at: NOW.toISOString(),
        updated_at: later.toISOString(),
      });
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

  describe('stock reservation', () => {
    it('takes every quantity and records the transaction as processing; release gives the units back', async () => {
      const [a, b] = [uid('sa'), uid('sb')];
      await product(a, { stock: 5 });
      await product(b, { stock: 2 });
      const t = newTransaction(uid('u'));
      expect(
        await reserve(
          [
            { product_id: a, quantity: 3 },
            { product_id: b, quantity: 2 },
          ],
          null,
          t,
        ),
      ).toEqual({ reserved: true });
      expect((await findProduct(db, a))?.stock).toBe(2);
      expect((await findProduct(db, b))?.stock).toBe(0);
      expect(await findTransaction(db, t.id)).toMatchObject({
        status: 'processing',
        amount: 500,
        customer_id: t.draft.user_id,
        order_id: t.draft.order_id,
        draft: t.draft,
      });
      await db.transaction().execute((trx) =>
        releaseStock(trx, [
          { product_id: a, quantity: 3 },
          { product_id: b, quantity: 1 },
        ]),
      );
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
    });

    it('not enough stock of any product: the short ids, and nothing written at all', async () => {
      const [a, b, c] = [uid('na'), uid('nb'), uid('nc')];
      await product(a, { stock: 5 });
      await product(b, { stock: 1 });
      await product(c, { stock: 0 });
      const t = newTransaction(uid('u'));
      const r = await reserve(
        [
          { product_id: a, quantity: 1 },
          { product_id: b, quantity: 2 },
          { product_id: c, quantity: 1 },
        ],
        null,
        t,
      );
      expect(r).toEqual({ reserved: false, short: [b, c].sort() });
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
      expect((await findProduct(db, c))?.stock).toBe(0);
      expect(await findTransaction(db, t.id)).toBeUndefined();
    });

    it('exactly the remaining stock can be taken', async () => {
      const a = uid('ex');
      await product(a, { stock: 3 });
      expect(await reserve([{ product_id: a, quantity: 3 }])).toEqual({ reserved: true });
      expect(await reserve([{ product_id: a, quantity: 1 }])).toEqual({ reserved: false, short: [a] });
      expect((await findProduct(db, a))?.stock).toBe(0);
    });

    it('racing reservations of the last units: exactly the stock is sold, never more', async () => {
      const a = uid('race');
      await product(a, { stock: 4 });
      const results = await Promise.all(Array.from({ length: 10 }, () => reserve([{ product_id: a, quantity: 1 }])));
      expect(results.filter((r) => r.reserved)).toHaveLength(4);
      expect((await findProduct(db, a))?.stock).toBe(0);
    });

    it('unlimited stock (null) is never touched, by reserve or release', async () => {
      const u = uid('un');
      await product(u, { stock: null });
      expect(await reserve([{ product_id: u, quantity: 1000 }])).toEqual({ reserved: true });
      expect(await reserve([])).toEqual({ reserved: true });
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

    it('recordStatusChange persists status, tracking and updated_at, the history entry and the messages, in one statement', async () => {
      const o = await makeOrder(uid('u'), '2026-03-01T10:00:00.000Z', { status: 'processing' });
      const shipped: Order = {
        ...o,
        status: 'shipped',
        tracking: { carrier: 'UPS', number: '1Z' },
        updated_at: '2026-03-02T00:00:00.000Z',
      };
      const change = { to: 'shipped' as const, at: shipped.updated_at, actor: 'admin', note: 'on its way' };
      await db.transaction().execute((trx) =>
        recordStatusChange(trx, {
          order: shipped,
          change,
          messages: [eventMessage('order.status_changed', shipped, NOW)],
        }),
      );
      expect(await findOrder(db, o.id)).toEqual(shipped);
      expect(await listHistory(db, o.id)).toEqual([
        { status: 'shipped', at: shipped.updated_at, actor: 'admin', note: 'on its way' },
      ]);
      expect(
        await db
          .selectFrom('outbox')
          .select('topic')
          .where(sql<string>`payload->>'order_id'`, '=', o.id)
          .execute(),
      ).toEqual([{ topic: 'order.status_changed' }]);
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
      const expected = [...orders]
        .sort((x, y) => (x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1))
        .map((o) => o.id);

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
        await appendHistory(trx, o.id, {
          to: 'processing',
          at: '2026-03-01T11:00:00.000Z',
          actor: 'admin',
          note: 'packing',
        });
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
    /** Claims the key through a reservation, as an order does; a held key is then inspected. */
    const claim = async (user: string, key: string, fp: string, expires = later()) => {
      const r = await reserve([], { userId: user, key, fingerprint: fp, expiresAt: expires });
      if (r.reserved) return { state: 'claimed' };
      return (await inspectKey(db, user, key, fp)) ?? { state: 'free' };
    };

    it('claimed → in_progress → completed (replays the stored response); another body is a mismatch', async () => {
      const [user, key] = [uid('u'), uid('key')];
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'claimed' });
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'in_progress' });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
      await db
        .transaction()
        .execute((trx) => completeKey(trx, user, key, { status: 201, body: { id: 'o1', total: 5 } }));
      expect(await claim(user, key, 'fp1')).toEqual({
        state: 'completed',
        response: { status: 201, body: { id: 'o1', total: 5 } },
      });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
    });

    it('keys are per user', async () => {
      const key = uid('shared');
      expect(await claim(uid('u1'), key, 'fp')).toEqual({ state: 'claimed' });
      expect(await claim(uid('u2'), key, 'other')).toEqual({ state: 'claimed' });
    });

    it('a reservation short of stock claims nothing: the key stays free, and a held key is not touched', async () => {
      const [user, key, a] = [uid('u'), uid('key'), uid('out')];
      await product(a, { stock: 0 });
      const request = { userId: user, key, fingerprint: 'fp', expiresAt: later() };
      expect(await reserve([{ product_id: a, quantity: 1 }], request)).toEqual({ reserved: false, short: [a] });
      expect(await inspectKey(db, user, key, 'fp')).toBeUndefined();
      expect(await claim(user, key, 'different')).toEqual({ state: 'claimed' });
      expect(await reserve([{ product_id: a, quantity: 1 }], request)).toEqual({ reserved: false, short: [a] });
      expect(await inspectKey(db, user, key, 'different')).toEqual({ state: 'in_progress' });
    });

    it('racing claims of one key: exactly one reservation is made', async () => {
      const [user, key] = [uid('u'), uid('key')];
      const results = await Promise.all(
        Array.from({ length: 8 }, () => reserve([], { userId: user, key, fingerprint: 'fp', expiresAt: later() })),
      );
      expect(results.filter((r) => r.reserved)).toHaveLength(1);
      expect(results.filter((r) => !r.reserved)).toEqual(
        Array.from({ length: 7 }, () => ({ reserved: false, short: [] })),
      );
    });

    it('a released in-progress key can be claimed again; a completed one is not released', async () => {
      const [user, key] = [uid('u'), uid('key')];
      await claim(user, key, 'fp');
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'claimed' });
      await db
        .transaction()
        .execute((trx) => completeKey(trx, user, key, { status: 402, body: { code: 'payment_declined' } }));
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({
        state: 'completed',
        response: { status: 402, body: { code: 'payment_declined' } },
      });
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

  describe('settling a new order in one statement', () => {
    /** A reserved transaction (with a claimed key) and the order it becomes once charged. */
    async function charged(opts: { key?: boolean; reference?: string } = {}) {
      const user = uid('u');
      const key = opts.key
        ? { userId: user, key: uid('key'), fingerprint: 'fp', expiresAt: new Date(Date.now() + 3_600_000) }
        : null;
      const t = newTransaction(user);
      expect(await reserve([], key, t)).toEqual({ reserved: true });
      const reference = opts.reference ?? `ref_${t.id}`;
      const at = '2026-03-01T12:00:05.000Z';
      const items = [
        {
          product_id: 'p1',
          name: 'One',
          quantity: 2,
          unit_price: 150,
          line_total: 300,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
        {
          product_id: 'p2',
          name: "Two's",
          quantity: 1,
          unit_price: 200,
          line_total: 200,
          quantity_cancelled: 0,
          quantity_returned: 0,
        },
      ];
      const order: Order = {
        id: t.draft.order_id,
        user_id: user,
        status: 'pending',
        currency: 'USD',
        items,
        total: 500,
        current_total: 500,
        payment: {
          transaction_id: t.id,
          provider: 'sandbox',
          provider_reference: reference,
          status: 'succeeded',
          amount: 500,
          currency: 'USD',
          amount_authorized: 500,
          amount_captured: 500,
          amount_refunded: 0,
          authorization_expires_at: null,
          next_action: null,
        },
        email: `${user}@example.com`,
        shipping_address: {
          line1: '1 Main St',
          city: 'Springfield',
          postal_code: '12345',
          country: 'US',
        } as Order['shipping_address'],
        tracking: null,
        created_at: at,
        updated_at: at,
      };
      const settlement = {
        reference,
        order,
        key: key && { userId: user, key: key.key },
        now: new Date(at),
        authorizationExpiresAt: null,
        first: { to: 'pending' as const, at, actor: user, note: null },
        messages: [emailMessage('order_confirmation', order)!, eventMessage('order.created', order, new Date(at))],
      };
      return { t, key, order, settlement };
    }
    const outboxOf = (orderId: string) =>
      db
        .selectFrom('outbox')
        .select(['kind', 'topic', 'status'])
        .where(sql<string>`payload->>'order_id'`, '=', orderId)
        .orderBy('kind')
        .execute();

    it("moves the transaction to succeeded and writes the order, items, history, both messages and the key's answer", async () => {
      const { t, key, order, settlement } = await charged({ key: true });
      expect(await settleNewOrder(db, settlement)).toBe(true);
      expect(await findOrder(db, order.id)).toEqual(order);
      expect(await findTransaction(db, t.id)).toMatchObject({
        status: 'succeeded',
        provider_reference: settlement.reference,
      });
      expect(await listHistory(db, order.id)).toEqual([
        { status: 'pending', at: order.created_at, actor: order.user_id, note: null },
      ]);
      expect(await outboxOf(order.id)).toEqual([
        { kind: 'email', topic: 'order_confirmation', status: 'pending' },
        { kind: 'event', topic: 'order.created', status: 'pending' },
      ]);
      expect(await inspectKey(db, order.user_id, key!.key, 'fp')).toEqual({
        state: 'completed',
        response: { status: 201, body: order },
      });
    });

    it('writes nothing when the transaction is no longer processing (settled twice, or by the reconciler first)', async () => {
      const { t, order, settlement } = await charged();
      expect(await settleNewOrder(db, settlement)).toBe(true);
      const again = { ...settlement, messages: [eventMessage('order.created', order, new Date())] };
      expect(await settleNewOrder(db, again)).toBe(false);
      expect(await outboxOf(order.id)).toHaveLength(2);
      expect((await findTransaction(db, t.id))?.status).toBe('succeeded');
    });

    it('writes nothing for an abandoned transaction (its client was told there is no order)', async () => {
      const { t, order, settlement } = await charged();
      await db.updateTable('payment_transactions').set({ abandoned: true }).where('id', '=', t.id).execute();
      expect(await settleNewOrder(db, settlement)).toBe(false);
      expect(await findOrder(db, order.id)).toBeUndefined();
      expect(await outboxOf(order.id)).toEqual([]);
      expect((await findTransaction(db, t.id))?.status).toBe('processing');
    });

    it('writes nothing when the provider payment already settles another transaction', async () => {
      const reference = uid('shared_ref');
      const first = await charged({ reference });
      expect(await settleNewOrder(db, first.settlement)).toBe(true);
      const second = await charged({ reference, key: true });
      expect(await settleNewOrder(db, second.settlement)).toBe(false);
      expect(await findOrder(db, second.order.id)).toBeUndefined();
      expect((await findTransaction(db, second.t.id))?.status).toBe('processing');
      expect(await inspectKey(db, second.order.user_id, second.key!.key, 'fp')).toEqual({ state: 'in_progress' });
    });

    it('two transactions racing to settle with one provider payment: one order, never two', async () => {
      const reference = uid('race_ref');
      const [a, b] = await Promise.all([charged({ reference }), charged({ reference })]);
      const settled = await Promise.all([settleNewOrder(db, a.settlement), settleNewOrder(db, b.settlement)]);
      expect(settled.filter(Boolean)).toHaveLength(1);
      const orders = await Promise.all([findOrder(db, a.order.id), findOrder(db, b.order.id)]);
      expect(orders.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('payment transactions', () => {
    it('a charge moves only from processing, its ledger rows with it; findTransaction shows the result', async () => {
      const t = newTransaction(uid('u'));
      expect(await reserve([], null, t)).toEqual({ reserved: true });
      expect(await moveCharge(db, t.id, 'succeeded', { provider_reference: `ref_${t.id}` })).toBe(true);
      expect(await moveCharge(db, t.id, 'failed')).toBe(false); // a racing second settlement
      expect(await findTransaction(db, t.id)).toMatchObject({
        status: 'succeeded',
        amount: 500,
        provider_reference: `ref_${t.id}`,
        order_id: t.draft.order_id,
      });
      expect((await listLedger(db, t.id)).map((e) => [e.kind, e.status, e.provider_reference])).toEqual([
        ['authorization', 'succeeded', `ref_${t.id}`],
        ['capture', 'succeeded', `ref_${t.id}`],
      ]);
      expect(await moveCharge(db, randomUUID(), 'succeeded')).toBe(false);
    });

    it('claimUnsettled takes due processing rows once, under a lease', async () => {
      const t = newTransaction(uid('u'));
      expect(await reserve([], null, { ...t, reconcileAfterMs: 0 })).toEqual({ reserved: true });
      await scheduleRetry(db, t.id, -1000, null);
      const first = await db.transaction().execute((trx) => claimUnsettled(trx, 1000, 60_000));
      expect(first.map((x) => x.id)).toContain(t.id);
      const second = await db.transaction().execute((trx) => claimUnsettled(trx, 1000, 60_000));
      expect(second.map((x) => x.id)).not.toContain(t.id);
    });

    it('every schedule counts from the database clock, not the instance clock', async () => {
      const dueIn = async (id: string) => {
        const { rows } = await sql<{ ms: number }>`
          select (extract(epoch from next_attempt_at - now()) * 1000)::int as ms from payment_transactions where id = ${id}::uuid`.execute(
          db,
        );
        return rows[0]!.ms;
      };
      const t = newTransaction(uid('u'));
      expect(await reserve([], null, { ...t, reconcileAfterMs: 90_000 })).toEqual({ reserved: true });
      expect(Math.abs((await dueIn(t.id)) - 90_000)).toBeLessThan(5_000);
      await scheduleRetry(db, t.id, 30_000, 'later');
      expect(Math.abs((await dueIn(t.id)) - 30_000)).toBeLessThan(5_000);
      expect(
        (await db.transaction().execute((trx) => claimUnsettled(trx, 1000, 60_000))).map((x) => x.id),
      ).not.toContain(t.id);
      await scheduleRetry(db, t.id, -1, 'due now');
      expect((await db.transaction().execute((trx) => claimUnsettled(trx, 1000, 120_000))).map((x) => x.id)).toContain(
        t.id,
      );
      expect(Math.abs((await dueIn(t.id)) - 120_000)).toBeLessThan(5_000);
    });
  });
});
