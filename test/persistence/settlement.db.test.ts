import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { inspectKey } from '../../src/persistence/idempotency-repository.js';
import { findOrder, listHistory } from '../../src/persistence/order-repository.js';
import { settleNewOrder } from '../../src/persistence/settlement.js';
import { emailMessage, eventMessage } from '../../src/domain/messages.js';
import type { Database } from '../../src/persistence/tables.js';
import { findTransaction } from '../../src/persistence/transaction-repository.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { newTransaction, reserve } = repositoryFixtures(kind, (opened) => (db = opened));

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
});
