import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { HistoryLine, Order } from '../../src/domain/order.js';
import { findOrder, listHistory, listOrders, lockOrder } from '../../src/persistence/order-repository.js';
import { recordOnOrder, recordStatusChange } from '../../src/persistence/status-change.js';
import { eventMessage } from '../../src/domain/messages.js';
import type { Database } from '../../src/persistence/tables.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { NOW, repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { makeOrder } = repositoryFixtures(kind, (opened) => (db = opened));

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
        const line = (l: HistoryLine) => recordOnOrder(trx, o.id, { history: [l], messages: [] });
        await line({ to: 'pending', at: '2026-03-01T10:00:00.000Z', actor: o.user_id, note: null });
        await line({ to: 'processing', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: 'packing' });
        await line({ to: 'shipped', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: null });
      });
      expect(await listHistory(db, o.id)).toEqual([
        { status: 'pending', at: '2026-03-01T10:00:00.000Z', actor: o.user_id, note: null },
        { status: 'processing', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: 'packing' },
        { status: 'shipped', at: '2026-03-01T11:00:00.000Z', actor: 'admin', note: null },
      ]);
      expect(await listHistory(db, randomUUID())).toEqual([]);
    });
  });
});
