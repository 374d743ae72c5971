import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerViolation, readLedgerSums } from '../../src/persistence/ledger.js';
import type { Database } from '../../src/persistence/tables.js';
import type { TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { ledgerTotals as totals } from '../helpers/ledger-totals.js';
import { bearer, expectProblem, getJson, placedOrder, uid } from '../helpers/http.js';
import { buildTestApp } from '../helpers/app.js';
import { refusal } from '../helpers/ledger-refusal.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A movement written straight to the table, as a bug or a person with psql might. */
function insertEntry(
  db: Kysely<Database>,
  transactionId: string,
  orderId: string,
  e: { kind: string; amount: number; status?: string; reference?: string | null; currency?: string },
) {
  return db
    .insertInto('payment_movements')
    .values({
      id: randomUUID(),
      transaction_id: transactionId,
      order_id: orderId,
      kind: e.kind,
      amount: e.amount,
      currency: e.currency ?? 'USD',
      status: e.status ?? 'pending',
      provider_reference: e.reference ?? null,
      reason: null,
      actor: 'test',
    })
    .execute();
}

const expectTotalsAreSums = async (db: Kysely<Database>, transactionId: string) =>
  expect(await totals(db, transactionId)).toEqual(await readLedgerSums(db, transactionId));

function entry(transactionId: string, orderId: string, kind: string, amount: number, status = 'pending') {
  return {
    id: randomUUID(),
    transaction_id: transactionId,
    order_id: orderId,
    kind,
    amount,
    currency: 'USD',
    status,
    reason: null,
    actor: 'test',
  };
}

describe.each(DATABASES)('the payment ledger on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  const cancel = (token: string, id: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/orders/${id}/cancel`,
      headers: bearer(token),
      payload: { reason: 'not needed' },
    });

  describe('GET /api/orders/{id}/payments', () => {
    it('a new order: its authorization and capture, succeeded, with the provider reference; the payment shows the amounts', async () => {
      const { order, token } = await placedOrder(t, uid('owner'), { price: 1250, quantity: 2 });
      expect(order.payment).toMatchObject({
        status: 'succeeded',
        amount: 2500,
        amount_authorized: 2500,
        amount_captured: 2500,
        amount_refunded: 0,
        authorization_expires_at: null,
      });
      expect(order.current_total).toBe(2500);
      const res = await getJson(t, token, `/api/orders/${order.id}/payments`);
      expect(res.statusCode, res.body).toBe(200);
      const entry = (kind: string) => ({
        id: expect.any(String),
        kind,
        amount: 2500,
        currency: 'USD',
        status: 'succeeded',
        provider_reference: order.payment.provider_reference,
        reason: null,
        actor: order.user_id,
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
      });
      expect(res.json()).toEqual({ items: [entry('authorization'), entry('capture')] });
      // The authorization's id is the transaction's: the key the charge was made with.
      expect(res.json().items[0].id).toBe(order.payment.transaction_id);
    });

    it('after a cancel: a refund by the customer, succeeded, and payment.refunded once with the refund', async () => {
      const { order, token } = await placedOrder(t, uid('owner'), { price: 900 });
      const res = await cancel(token, order.id);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().order.payment).toMatchObject({
        status: 'refunded',
        amount_captured: 900,
        amount_refunded: 900,
      });
      const items = (await getJson(t, token, `/api/orders/${order.id}/payments`)).json().items;
      expect(items.map((e: { kind: string; status: string }) => [e.kind, e.status])).toEqual([
        ['authorization', 'succeeded'],
        ['capture', 'succeeded'],
        ['refund', 'succeeded'],
      ]);
      const refund = items[2];
      expect(refund).toMatchObject({
        amount: 900,
        currency: 'USD',
        actor: order.user_id,
        reason: 'not needed',
        provider_reference: expect.any(String),
      });
      const events = await t.db
        .selectFrom('outbox')
        .select('payload')
        .where('topic', '=', 'payment.refunded')
        .where(sql<string>`payload->>'order_id'`, '=', order.id)
        .execute();
      expect(events).toHaveLength(1);
      const data = (events[0]!.payload as { data: Record<string, unknown> }).data;
      expect(data.refund).toEqual({ id: refund.id, amount: 900, currency: 'USD' });
      expect(data.payment).toMatchObject({ status: 'refunded', amount_refunded: 900 });
    });

    it("an admin reads any order's ledger; someone else gets 403; a missing or malformed id 404; no token 401", async () => {
      const { order } = await placedOrder(t, uid('owner'));
      expect((await getJson(t, await t.adminToken(), `/api/orders/${order.id}/payments`)).statusCode).toBe(200);
      expectProblem(
        await getJson(t, await t.token(uid('other')), `/api/orders/${order.id}/payments`),
        403,
        'forbidden',
      );
      expectProblem(
        await getJson(t, await t.token(uid('other')), `/api/orders/${randomUUID()}/payments`),
        404,
        'order_not_found',
      );
      expectProblem(
        await getJson(t, await t.token(uid('other')), '/api/orders/not-a-uuid/payments'),
        404,
        'order_not_found',
      );
      expectProblem(
        await t.app.inject({ method: 'GET', url: `/api/orders/${order.id}/payments` }),
        401,
        'invalid_token',
      );
    });
  });

  describe('invariants the database keeps by itself', () => {
    it('refunds beyond what was captured are refused, pending ones counted', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 1001 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 600 }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 401 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 400, status: 'succeeded' }))).toBe(
        'accepted',
      );
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 1 }))).toBe('invariant');
    });

    it('captures and voids beyond the authorization are refused', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'capture', amount: 1 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'void', amount: 1 }))).toBe('invariant');
      // Only the charge authorizes (its payment row records it): no second authorization to take from.
      expect(
        await refusal(insertEntry(t.db, tx, order.id, { kind: 'authorization', amount: 500, status: 'succeeded' })),
      ).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'void', amount: 500 }))).toBe('invariant');
    });

    it('a movement in another currency than its payment is refused', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      expect(
        await refusal(
          insertEntry(t.db, order.payment.transaction_id, order.id, { kind: 'refund', amount: 10, currency: 'EUR' }),
        ),
      ).toBe('invariant');
    });

    it('a provider movement is recorded once: the same refund id twice is refused', async () => {
      const a = await placedOrder(t, uid('owner'), { price: 1000 });
      const b = await placedOrder(t, uid('owner'), { price: 1000 });
      const ref = uid('re');
      expect(
        await refusal(
          insertEntry(t.db, a.order.payment.transaction_id, a.order.id, {
            kind: 'refund',
            amount: 100,
            reference: ref,
          }),
        ),
      ).toBe('accepted');
      expect(
        await refusal(
          insertEntry(t.db, a.order.payment.transaction_id, a.order.id, {
            kind: 'refund',
            amount: 100,
            reference: ref,
          }),
        ),
      ).toBe('duplicate_movement');
      expect(
        await refusal(
          insertEntry(t.db, b.order.payment.transaction_id, b.order.id, {
            kind: 'refund',
            amount: 100,
            reference: ref,
          }),
        ),
      ).toBe('duplicate_movement');
    });

    it('append-only: no delete, no change of what a row recorded, no move back to pending', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 300, status: 'succeeded' }))).toBe(
        'accepted',
      );
      const rows = t.db.selectFrom('payment_ledger').where('transaction_id', '=', tx);
      const refund = t.db
        .updateTable('payment_movements')
        .where('transaction_id', '=', tx)
        .where('kind', '=', 'refund');
      expect(await refusal(t.db.deleteFrom('payment_movements').where('transaction_id', '=', tx).execute())).toBe(
        'append_only',
      );
      expect(await refusal(refund.set({ amount: 1 }).execute())).toBe('append_only');
      expect(await refusal(refund.set({ status: 'pending' }).execute())).toBe('append_only');
      expect(await refusal(refund.set({ provider_reference: 'elsewhere' }).execute())).toBe('accepted'); // none yet
      expect(await refusal(refund.set({ provider_reference: 'again' }).execute())).toBe('append_only');
      // The charge's authorization and capture are its payment row: it keeps them the same way.
      const payment = t.db.updateTable('payment_transactions').where('id', '=', tx);
      expect(await refusal(t.db.deleteFrom('payment_transactions').where('id', '=', tx).execute())).toBe('append_only');
      expect(await refusal(payment.set({ amount: 1 }).execute())).toBe('append_only');
      expect(await refusal(payment.set({ currency: 'EUR' }).execute())).toBe('append_only');
      expect(await refusal(payment.set({ status: 'processing' }).execute())).toBe('append_only');
      expect(await refusal(payment.set({ status: 'failed' }).execute())).toBe('append_only');
      expect(
        await refusal(sql`update payment_transactions set charge_capture = null where id = ${tx}`.execute(t.db)),
      ).toBe('append_only');
      const kept = await rows.select(['kind', 'status', 'amount']).orderBy('seq').execute();
      expect(kept.map((r) => [r.kind, r.status, Number(r.amount)])).toEqual([
        ['authorization', 'succeeded', 1000],
        ['capture', 'succeeded', 1000],
        ['refund', 'succeeded', 300],
      ]);
    });

    it('racing refunds on separate connections never exceed what was captured', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      // Ten writers at once, each 300 of the 1000 captured; each holds its transaction open a moment
      // after its insert, so without the payment lock their checks would all pass together.
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () =>
          refusal(
            t.db.transaction().execute(async (trx) => {
              await insertEntry(trx as unknown as Kysely<Database>, tx, order.id, { kind: 'refund', amount: 300 });
              await sql`select pg_sleep(0.05)`.execute(trx);
            }),
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(3);
      expect(outcomes.filter((o) => o === 'invariant')).toHaveLength(7);
      const refunded = await t.db
        .selectFrom('payment_ledger')
        .select((eb) => eb.fn.sum<string>('amount').as('sum'))
        .where('transaction_id', '=', tx)
        .where('kind', '=', 'refund')
        .executeTakeFirstOrThrow();
      expect(Number(refunded.sum)).toBe(900);
    });

    it('racing cancels: one refund row, however many requests', async () => {
      const { order, token } = await placedOrder(t, uid('owner'), { price: 700 });
      const results = await Promise.all(Array.from({ length: 6 }, () => cancel(token, order.id)));
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409, 409]);
      const refunds = await t.db
        .selectFrom('payment_ledger')
        .select(['amount', 'status'])
        .where('transaction_id', '=', order.payment.transaction_id)
        .where('kind', '=', 'refund')
        .execute();
      expect(refunds.map((r) => [Number(r.amount), r.status])).toEqual([[700, 'succeeded']]);
    });
  });

  // The totals a payment's row keeps (migration 010) are its ledger's sums, whatever wrote the ledger
  // and however many wrote it at once: what a page of orders reads must be what the ledger says.
  describe('the totals on the payment row', () => {
    it('follow every insert, status move and expiry change, and read as the order shows them', async () => {
      const { order, token } = await placedOrder(t, uid('owner'), { price: 1000, quantity: 2 });
      const tx = order.payment.transaction_id;
      expect(await totals(t.db, tx)).toMatchObject({
        authorized: 2000,
        captured: 2000,
        refunded: 0,
        pendingRefunds: 0,
      });
      const refunds = [entry(tx, order.id, 'refund', 300), entry(tx, order.id, 'refund', 200)];
      await t.db.insertInto('payment_movements').values(refunds).execute();
      expect(await totals(t.db, tx)).toMatchObject({ refunded: 0, pendingRefunds: 500 });
      await t.db
        .updateTable('payment_movements')
        .set({ status: 'succeeded' })
        .where('id', '=', refunds[0]!.id)
        .execute();
      await t.db.updateTable('payment_movements').set({ status: 'failed' }).where('id', '=', refunds[1]!.id).execute();
      expect(await totals(t.db, tx)).toMatchObject({ refunded: 300, pendingRefunds: 0 });
      await t.db.updateTable('payment_movements').set({ status: 'failed' }).where('id', '=', refunds[0]!.id).execute(); // a refund.failed after it succeeded
      expect(await totals(t.db, tx)).toMatchObject({ refunded: 0 });
      const expiry = new Date('2031-01-01T00:00:00.000Z');
      await t.db
        .updateTable('payment_transactions')
        .set({ authorization_expires_at: expiry })
        .where('id', '=', tx)
        .execute();
      expect((await totals(t.db, tx)).authorizationExpiresAt).toBe(expiry.toISOString());
      await expectTotalsAreSums(t.db, tx);

      const cancelled = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/cancel`,
        headers: bearer(token),
        payload: {},
      });
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      expect(await totals(t.db, tx)).toMatchObject({ captured: 2000, refunded: 2000, pendingRefunds: 0 });
      await expectTotalsAreSums(t.db, tx);
      const listed = await t.app.inject({ method: 'GET', url: '/api/orders?limit=5', headers: bearer(token) });
      expect(
        listed.json<{ items: { id: string; payment: unknown }[] }>().items.find((o) => o.id === order.id)?.payment,
      ).toMatchObject({
        status: 'refunded',
        amount_captured: 2000,
        amount_refunded: 2000,
      });
    });

    it('a refused write leaves them as they were', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const before = await totals(t.db, order.payment.transaction_id);
      await expect(
        t.db
          .insertInto('payment_movements')
          .values(entry(order.payment.transaction_id, order.id, 'refund', 1001))
          .execute(),
      ).rejects.toSatisfy((e) => ledgerViolation(e) === 'invariant');
      expect(await totals(t.db, order.payment.transaction_id)).toEqual(before);
    });

    it('racing writers on separate connections — inserts and settlements of one payment at once — leave them equal to the sums', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 5000 });
      const tx = order.payment.transaction_id;
      const pending = Array.from({ length: 5 }, () => entry(tx, order.id, 'refund', 100));
      await t.db.insertInto('payment_movements').values(pending).execute();
      // Each writer holds its transaction open a moment after its write: without the payment lock
      // (or with a sum taken before it), two writers would each store sums missing the other's row.
      const hold = (trx: Kysely<Database>) => sql`select pg_sleep(0.03)`.execute(trx);
      const writers = [
        ...Array.from({ length: 8 }, () => async (trx: Kysely<Database>) => {
          await trx
            .insertInto('payment_movements')
            .values(entry(tx, order.id, 'refund', 100))
            .execute();
          await hold(trx);
        }),
        ...pending.map((p, i) => async (trx: Kysely<Database>) => {
          await trx
            .updateTable('payment_movements')
            .set({ status: i % 2 ? 'failed' : 'succeeded' })
            .where('id', '=', p.id)
            .execute();
          await hold(trx);
        }),
      ];
      await Promise.all(writers.map((w) => t.db.transaction().execute((trx) => w(trx as unknown as Kysely<Database>))));
      expect(await totals(t.db, tx)).toMatchObject({ refunded: 300, pendingRefunds: 800 });
      await expectTotalsAreSums(t.db, tx);
    });
  });
});
