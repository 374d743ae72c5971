import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerViolation } from '../../src/persistence/ledger.js';
import type { Database } from '../../src/persistence/tables.js';
import type { TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, expectProblem, getJson, placedOrder, startApp, uid } from '../helpers/http.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A ledger row written straight to the table, as a bug or a person with psql might. */
function insertEntry(
  db: Kysely<Database>,
  transactionId: string,
  orderId: string,
  e: { kind: string; amount: number; status?: string; reference?: string | null; currency?: string },
) {
  return db
    .insertInto('payment_ledger')
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

async function refusal(p: Promise<unknown>): Promise<ReturnType<typeof ledgerViolation> | 'accepted'> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    const why = ledgerViolation(err);
    if (!why) throw err;
    return why;
  }
}

describe.each(DATABASES)('the payment ledger on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  const cancel = (token: string, id: string) => t.app.inject({ method: 'POST', url: `/api/orders/${id}/cancel`, headers: bearer(token), payload: { reason: 'not needed' } });

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
      expect(res.json().order.payment).toMatchObject({ status: 'refunded', amount_captured: 900, amount_refunded: 900 });
      const items = (await getJson(t, token, `/api/orders/${order.id}/payments`)).json().items;
      expect(items.map((e: { kind: string; status: string }) => [e.kind, e.status])).toEqual([
        ['authorization', 'succeeded'],
        ['capture', 'succeeded'],
        ['refund', 'succeeded'],
      ]);
      const refund = items[2];
      expect(refund).toMatchObject({ amount: 900, currency: 'USD', actor: order.user_id, reason: 'not needed', provider_reference: expect.any(String) });
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
      expectProblem(await getJson(t, await t.token(uid('other')), `/api/orders/${order.id}/payments`), 403, 'forbidden');
      expectProblem(await getJson(t, await t.token(uid('other')), `/api/orders/${randomUUID()}/payments`), 404, 'order_not_found');
      expectProblem(await getJson(t, await t.token(uid('other')), '/api/orders/not-a-uuid/payments'), 404, 'order_not_found');
      expectProblem(await t.app.inject({ method: 'GET', url: `/api/orders/${order.id}/payments` }), 401, 'invalid_token');
    });
  });

  describe('invariants the database keeps by itself', () => {
    it('refunds beyond what was captured are refused, pending ones counted', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 1001 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 600 }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 401 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 400, status: 'succeeded' }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'refund', amount: 1 }))).toBe('invariant');
    });

    it('captures and voids beyond the authorization are refused', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const tx = order.payment.transaction_id;
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'capture', amount: 1 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'void', amount: 1 }))).toBe('invariant');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'authorization', amount: 500, status: 'succeeded' }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'void', amount: 500 }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, tx, order.id, { kind: 'capture', amount: 1 }))).toBe('invariant');
    });

    it('a movement in another currency than its payment is refused', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      expect(await refusal(insertEntry(t.db, order.payment.transaction_id, order.id, { kind: 'refund', amount: 10, currency: 'EUR' }))).toBe('invariant');
    });

    it('a provider movement is recorded once: the same refund id twice is refused', async () => {
      const a = await placedOrder(t, uid('owner'), { price: 1000 });
      const b = await placedOrder(t, uid('owner'), { price: 1000 });
      const ref = uid('re');
      expect(await refusal(insertEntry(t.db, a.order.payment.transaction_id, a.order.id, { kind: 'refund', amount: 100, reference: ref }))).toBe('accepted');
      expect(await refusal(insertEntry(t.db, a.order.payment.transaction_id, a.order.id, { kind: 'refund', amount: 100, reference: ref }))).toBe('duplicate_movement');
      expect(await refusal(insertEntry(t.db, b.order.payment.transaction_id, b.order.id, { kind: 'refund', amount: 100, reference: ref }))).toBe('duplicate_movement');
    });

    it('append-only: no delete, no change of what a row recorded, no move back to pending', async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
      const rows = t.db.selectFrom('payment_ledger').where('transaction_id', '=', order.payment.transaction_id);
      const capture = t.db.updateTable('payment_ledger').where('transaction_id', '=', order.payment.transaction_id).where('kind', '=', 'capture');
      expect(await refusal(t.db.deleteFrom('payment_ledger').where('transaction_id', '=', order.payment.transaction_id).execute())).toBe('append_only');
      expect(await refusal(capture.set({ amount: 1 }).execute())).toBe('append_only');
      expect(await refusal(capture.set({ status: 'pending' }).execute())).toBe('append_only');
      expect(await refusal(capture.set({ provider_reference: 'elsewhere' }).execute())).toBe('append_only');
      expect(await rows.select(['kind', 'status', 'amount']).orderBy('seq').execute()).toEqual([
        { kind: 'authorization', status: 'succeeded', amount: expect.anything() },
        { kind: 'capture', status: 'succeeded', amount: expect.anything() },
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
});
