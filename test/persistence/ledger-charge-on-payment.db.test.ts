import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLedger, readLedgerSums } from '../../src/persistence/ledger.js';
import { reserveOrder } from '../../src/persistence/reservation.js';
import { moveCharge } from '../../src/persistence/transaction-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import type { CaptureMode } from '../../src/domain/payment.js';
import type { TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { ledgerTotals as totals } from '../helpers/ledger-totals.js';
import { bearer, getJson, placedOrder, uid } from '../helpers/http.js';
import { buildTestApp } from '../helpers/app.js';
import { refusal } from '../helpers/ledger-refusal.js';

/**
 * The charge's authorization and capture are its payment row (migration 017, docs/adr/0032): the
 * ledger shows them as rows (the authorization's id the transaction's, the capture's derived from
 * it), the sums count them, and the database keeps them as it kept the rows. These are the raw-SQL
 * writes a bug or a person with psql might try, and what the database answers.
 */
const captureId = (transactionId: string) => {
  const h = createHash('md5').update(`${transactionId}:capture`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** A movement as raw SQL would write it. */
const movement = (
  transactionId: string,
  orderId: string,
  o: { kind: string; amount: number; id?: string; currency?: string; status?: string },
) => ({
  id: o.id ?? randomUUID(),
  transaction_id: transactionId,
  order_id: orderId,
  kind: o.kind,
  amount: o.amount,
  currency: o.currency ?? 'USD',
  status: o.status ?? 'pending',
  reason: null,
  actor: 'psql',
});

/** A payment reserved as a create reserves it, its charge not settled (`processing`). */
async function reserved(db: Kysely<Database>, capture: CaptureMode, total = 1500) {
  const id = randomUUID();
  const orderId = randomUUID();
  const r = await reserveOrder(db, {
    stocked: [],
    key: null,
    transaction: {
      id,
      provider: 'sandbox',
      source: 'pm_card_visa',
      capture,
      reconcileAfterMs: 60_000,
      now: new Date(),
      draft: {
        order_id: orderId,
        user_id: uid('owner'),
        currency: 'USD',
        items: [],
        total,
        email: null,
        shipping_address: null,
        idempotency_key: null,
        capture,
      },
    },
  });
  expect(r).toEqual({ reserved: true });
  return { id, orderId };
}

describe.each(DATABASES)('the charge on its payment row on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind, { env: { PAYMENT_CAPTURE: 'shipment' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** What the database answers a movement written straight to its table. */
  const insert = (row: ReturnType<typeof movement>) =>
    refusal(t.db.insertInto('payment_movements').values(row).execute());

  const stored = async (transactionId: string) => ({
    movements: await t.db
      .selectFrom('payment_movements')
      .select('id')
      .where('transaction_id', '=', transactionId)
      .execute(),
    totalsRow: await t.db
      .selectFrom('payment_movement_totals')
      .select('transaction_id')
      .where('transaction_id', '=', transactionId)
      .execute(),
  });

  it('a reserved charge reads as pending, a settled one as taken, and nothing but the payment row was written', async () => {
    const r = await reserved(t.db, 'immediate');
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 1500, pendingCaptures: 1500, captured: 0 });
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    const rows = async () => (await listLedger(t.db, r.id)).map((e) => [e.id, e.kind, e.status, e.amount]);
    expect(await rows()).toEqual([
      [r.id, 'authorization', 'pending', 1500],
      [captureId(r.id), 'capture', 'pending', 1500],
    ]);
    await t.db.transaction().execute((trx) => moveCharge(trx, r.id, 'succeeded', { provider_reference: uid('sb_ch') }));
    expect(await totals(t.db, r.id)).toMatchObject({ authorized: 1500, captured: 1500, pendingCaptures: 0 });
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    expect(await rows()).toEqual([
      [r.id, 'authorization', 'succeeded', 1500],
      [captureId(r.id), 'capture', 'succeeded', 1500],
    ]);
    expect(await stored(r.id)).toEqual({ movements: [], totalsRow: [] });
  });

  it("an order's payments show the charge with the payment's reference; the authorization's expiry is the order's", async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 1250 });
    const reference = order.payment.provider_reference as string;
    expect(reference).toMatch(/^sb_/);
    expect(order.payment.authorization_expires_at).toEqual(expect.any(String));
    const res = await getJson(t, token, `/api/orders/${order.id}/payments`);
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([
      expect.objectContaining({
        id: order.payment.transaction_id,
        kind: 'authorization',
        status: 'succeeded',
        amount: 1250,
        provider_reference: reference,
        actor: order.user_id,
      }),
    ]);
    expect(await stored(order.payment.transaction_id)).toEqual({ movements: [], totalsRow: [] });
  });

  it("a second authorization, a capture with the charge's id or a movement with its id is refused", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    expect(order.payment).toMatchObject({ amount_authorized: 1000, amount_captured: 0 });
    const attempts = [
      movement(tx, order.id, { kind: 'authorization', amount: 1000, status: 'succeeded' }),
      movement(tx, order.id, { kind: 'authorization', amount: 1 }),
      ...['pending', 'succeeded'].flatMap((status) =>
        [1000, 1].map((amount) => movement(tx, order.id, { kind: 'capture', amount, status, id: captureId(tx) })),
      ),
      movement(tx, order.id, { kind: 'capture', amount: 1000, id: tx }),
      movement(tx, order.id, { kind: 'void', amount: 1000, id: tx }),
    ];
    for (const row of attempts) expect(await insert(row)).toBe('invariant');
    expect(await totals(t.db, tx)).toEqual(await readLedgerSums(t.db, tx));
    expect(await totals(t.db, tx)).toMatchObject({ authorized: 1000, captured: 0, pendingCaptures: 0 });
    // An ordinary capture at shipment is the movement it always was.
    expect(await insert(movement(tx, order.id, { kind: 'capture', amount: 1000 }))).toBe('accepted');
    expect(await totals(t.db, tx)).toMatchObject({ authorized: 1000, pendingCaptures: 1000 });
  });

  it('the charge cannot be rewritten on its payment: a capture slipped in, its amount, currency or outcome changed', async () => {
    const r = await reserved(t.db, 'shipment');
    const write = (set: string) =>
      refusal(sql`update payment_transactions set ${sql.raw(set)} where id = ${r.id}::uuid`.execute(t.db));
    expect(await write('charge_capture = 1500')).toBe('append_only');
    expect(await write('amount = 9000')).toBe('append_only');
    expect(await write(`currency = 'EUR'`)).toBe('append_only');
    expect(await write(`charge_authorization_id = gen_random_uuid()`)).toBe('append_only');
    expect(await write(`status = 'succeeded'`)).toBe('accepted');
    expect(await write(`status = 'failed'`)).toBe('append_only');
    expect(await write(`status = 'processing'`)).toBe('append_only');
    expect(await refusal(t.db.deleteFrom('payment_transactions').where('id', '=', r.id).execute())).toBe('append_only');
    // A capture other than the whole amount is no charge's: the column's own check.
    const other = await reserved(t.db, 'shipment');
    await expect(
      sql`insert into payment_transactions (id, order_id, customer_id, provider, status, amount, currency, charge_capture, source, order_draft)
          values (${randomUUID()}::uuid, ${other.orderId}::uuid, 'psql', 'sandbox', 'processing', 1500, 'USD', 1499, 'x', '{}'::jsonb)`.execute(
        t.db,
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('a charge that fails under a later movement is refused; with that movement failed first, accepted', async () => {
    const r = await reserved(t.db, 'shipment');
    const voided = movement(r.id, r.orderId, { kind: 'void', amount: 1500 });
    expect(await insert(voided)).toBe('accepted');
    const fail = () =>
      t.db.updateTable('payment_transactions').set({ status: 'failed' }).where('id', '=', r.id).execute();
    expect(await refusal(fail())).toBe('invariant');
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 1500, pendingVoids: 1500 });
    await t.db.updateTable('payment_movements').set({ status: 'failed' }).where('id', '=', voided.id).execute();
    expect(await refusal(fail())).toBe('accepted');
    expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    expect(await totals(t.db, r.id)).toMatchObject({ pendingAuthorizations: 0, pendingVoids: 0 });
  });

  it('a charge failing while a movement is written against it, on two connections: never both', async () => {
    for (let round = 0; round < 4; round++) {
      const r = await reserved(t.db, 'shipment');
      const hold = (trx: Kysely<Database>) => sql`select pg_sleep(0.03)`.execute(trx);
      const outcomes = await Promise.all([
        refusal(
          t.db.transaction().execute(async (trx) => {
            if (round % 2) await hold(trx as unknown as Kysely<Database>);
            await trx
              .insertInto('payment_movements')
              .values(movement(r.id, r.orderId, { kind: 'void', amount: 1500 }))
              .execute();
            await hold(trx as unknown as Kysely<Database>);
          }),
        ),
        refusal(
          t.db.transaction().execute(async (trx) => {
            if (round % 2 === 0) await hold(trx as unknown as Kysely<Database>);
            await trx.updateTable('payment_transactions').set({ status: 'failed' }).where('id', '=', r.id).execute();
            await hold(trx as unknown as Kysely<Database>);
          }),
        ),
      ]);
      expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(1);
      expect(await totals(t.db, r.id)).toEqual(await readLedgerSums(t.db, r.id));
    }
  });

  it("the sums of the later movements are the ledger's alone: a direct write of them is refused", async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 1000 });
    const tx = order.payment.transaction_id;
    expect(await insert(movement(tx, order.id, { kind: 'capture', amount: 400 }))).toBe('accepted');
    const direct = (set: Record<string, number>) =>
      (t.db as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .updateTable('payment_movement_totals')
        .set(set)
        .where('transaction_id', '=', tx)
        .execute();
    expect(await refusal(direct({ captured: 1000 }))).toBe('append_only');
    expect(await refusal(direct({ pending_captures: 0 }))).toBe('append_only');
    expect(await totals(t.db, tx)).toMatchObject({ pendingCaptures: 400 });
  });

  it('a movement that settles leaves the queue: its next attempt is never, whoever moved it', async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 900 });
    const res = await t.app.inject({ method: 'POST', url: `/api/orders/${order.id}/cancel`, headers: bearer(token) });
    expect(res.statusCode, res.body).toBe(200);
    const rows = await t.db
      .selectFrom('payment_movements')
      .select(['kind', 'status', sql<boolean>`next_attempt_at = 'infinity'`.as('never_due')])
      .where('transaction_id', '=', order.payment.transaction_id)
      .execute();
    expect(rows).toEqual([{ kind: 'void', status: 'succeeded', never_due: true }]);
  });
});
