import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refundPayment } from '../../src/application/refund-payment.js';
import { refundMade } from '../../src/domain/order.js';
import { findMovement, readLedgerSums } from '../../src/persistence/ledger.js';
import { findOrder, findOrderAndLedger } from '../../src/persistence/order-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { bearer, placedOrder, uid } from '../helpers/http.js';
import { ledgerTotals } from '../helpers/ledger-totals.js';

/**
 * Every writer of a payment's movements queues on the payment's row (migration 018,
 * docs/adr/0033): a movement's insert and a status move take its lock before the totals row's, and a
 * cancel takes it with the order's and reads the sums after. Two connections, on PostgreSQL.
 */
describe('the ledger queues on the payment, on postgres', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  const refund = (transactionId: string, orderId: string, amount: number) => ({
    id: randomUUID(),
    transaction_id: transactionId,
    order_id: orderId,
    kind: 'refund',
    amount,
    currency: 'USD',
    status: 'pending',
    reason: null,
    actor: 'psql',
  });

  /** Until some statement waits for a lock the backend `pid` holds (other files share the database). */
  async function blockedBy(db: Kysely<Database>, pid: number) {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`.execute(db);
      if (rows[0]!.n > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('nothing waited for the held transaction');
  }

  it('a cancel that waits for a movement being written gives back what is left once it commits', async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id as string;
    const started = await t.db.transaction().execute(async (trx) => {
      // A refund made elsewhere (learned from the provider, say), its transaction not yet committed.
      await trx
        .insertInto('payment_movements')
        .values(refund(tx, order.id, 300))
        .execute();
      const held = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      const cancelled = t.app
        .inject({ method: 'POST', url: `/api/orders/${order.id}/cancel`, headers: bearer(token) })
        .then((r) => r);
      await blockedBy(t.db, held.rows[0]!.pid);
      // Not awaited here: this transaction commits first, and the cancel goes on.
      return { cancelled };
    });
    const res = await started.cancelled;
    expect(res.statusCode, res.body).toBe(200);
    const refunds = await t.db
      .selectFrom('payment_movements')
      .select(['amount', 'actor'])
      .where('transaction_id', '=', tx)
      .where('kind', '=', 'refund')
      .orderBy('seq')
      .execute();
    // Read before it waited, the sums would have owed 1000, which the ledger refuses.
    expect(refunds.map((r) => [Number(r.amount), r.actor])).toEqual([
      [300, 'psql'],
      [700, order.user_id],
    ]);
    expect(await ledgerTotals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
  });

  it('a transaction that settles a movement and then writes one never deadlocks with a writer of the same payment', async () => {
    for (let round = 0; round < 3; round++) {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id as string;
      const first = refund(tx, order.id, 100);
      await t.db.insertInto('payment_movements').values(first).execute();
      const pause = (db: Kysely<Database>, s: number) => sql`select pg_sleep(${s})`.execute(db);
      const outcomes = await Promise.allSettled([
        t.db.transaction().execute(async (trx) => {
          // Were the status move to take the totals row's lock alone, this would hold it here and
          // then wait for the payment's, which the other holds while it waits for the totals row.
          await trx.updateTable('payment_movements').set({ status: 'succeeded' }).where('id', '=', first.id).execute();
          await pause(trx as unknown as Kysely<Database>, 0.1);
          await trx
            .insertInto('payment_movements')
            .values(refund(tx, order.id, 100))
            .execute();
        }),
        (async () => {
          await pause(t.db, 0.03);
          await t.db
            .insertInto('payment_movements')
            .values(refund(tx, order.id, 100))
            .execute();
        })(),
      ]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual(['ok', 'ok']);
      expect(await ledgerTotals(t.db, tx)).toMatchObject({ refunded: 100, pendingRefunds: 200 });
      expect(await ledgerTotals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
    }
  });

  it("a refund's confirmation that waits for a movement being written announces the order with it", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id as string;
    // A refund of 600 recorded with a write of its order, as a cancel records it, and the order
    // computed for once it is made: partially refunded.
    const before = (await findOrderAndLedger(t.db, order.id))!;
    const id = randomUUID();
    await t.db.transaction().execute(async (trx) => {
      await sql`update orders set updated_at = now() where id = ${order.id}::uuid`.execute(trx);
      await trx
        .insertInto('payment_movements')
        .values({ ...refund(tx, order.id, 600), id })
        .execute();
    });
    const made = refundMade((await findOrder(t.db, order.id))!, before.sums, before.charge, 600);
    expect(made.payment.status).toBe('partially_refunded');
    const m = (await findMovement(t.db, id))!;
    const confirming = await t.db.transaction().execute(async (trx) => {
      // Another refund, its transaction not yet committed when the confirmation starts.
      await trx
        .insertInto('payment_movements')
        .values(refund(tx, order.id, 100))
        .execute();
      const held = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      const outcome = refundPayment(t.app.deps, m, made);
      await blockedBy(t.db, held.rows[0]!.pid);
      return { outcome };
    });
    const outcome = await confirming.outcome;
    const read = (await findOrder(t.db, order.id))!;
    // Had the confirmation checked the sums before it waited, it would have announced `made`.
    expect(read.payment).toMatchObject({ status: 'refund_pending', amount_refunded: 600 });
    expect(outcome.status === 'succeeded' && outcome.order).toEqual(read);
    const events = await t.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'payment.refunded')
      .execute()
      .then((rows) => rows.map((r) => r.payload as { order_id: string; data: { payment: unknown } }));
    expect(events.filter((e) => e.order_id === order.id).map((e) => e.data.payment)).toEqual([
      JSON.parse(JSON.stringify(read.payment)),
    ]);
  });
});
