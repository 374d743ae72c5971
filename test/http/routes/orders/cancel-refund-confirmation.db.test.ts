import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { refundPayment } from '../../../../src/application/refund-payment.js';
import { findMovement, recordMovement } from '../../../../src/persistence/ledger.js';
import { refundMade } from '../../../../src/domain/order.js';
import { findOrder, findOrderAndLedger } from '../../../../src/persistence/order-repository.js';
import { settleRefundAsRecorded } from '../../../../src/persistence/refund-as-recorded.js';
import { buildTestAppPerDescribe } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, getJson, placedOrder, uid } from '../../../helpers/http.js';
import { providerView } from '../../../helpers/payments.js';

/**
 * A cancel's refund is confirmed without reading the order again: its messages and its answer carry
 * the order the cancel computed (refund-as-recorded.ts). They must be the order as GET reads it — and
 * when anything moved between the cancel and the confirmation, the confirmation reads it instead.
 */
describe.each(DATABASES)("a cancel's refund confirmation on %s", (kind) => {
  const { t, emu } = buildTestAppPerDescribe(kind, { emulators: 'start', resetAfterEach: true });

  const cancel = async (token: string, id: string) =>
    t.app.inject({ method: 'POST', url: `/api/orders/${id}/cancel`, headers: bearer(token), payload: {} });
  /** The order as each message about it says, by topic. */
  const said = async (orderId: string, topic: string) =>
    (await t.db.selectFrom('outbox').select(['payload']).where('topic', '=', topic).execute())
      .map((m) => m.payload as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
      .filter((p) => p.order_id === orderId)
      .map((p) => (p.type ? p.data : p.order));
  const without = (o: Record<string, unknown>, key: string) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const refundOf = (order: Record<string, any>, amount: number) => ({
    id: randomUUID(),
    transactionId: order.payment.transaction_id as string,
    orderId: order.id as string,
    kind: 'refund' as const,
    amount,
    currency: 'USD',
    reason: null,
    actor: 'test',
    retryInMs: 60_000,
    now: new Date(),
  });

  /** Cancels, and checks the answer and payment.refunded against GET: the order as read, and the event's refund. */
  async function cancelAgreeing(token: string, orderId: string) {
    const res = await cancel(token, orderId);
    expect(res.statusCode, res.body).toBe(200);
    const read = (await getJson(t, token, `/api/orders/${orderId}`)).json();
    expect(res.json().order).toEqual(read);
    const [event] = await said(orderId, 'payment.refunded');
    expect(without(event, 'refund')).toEqual(read);
    return { read, refund: event.refund };
  }

  it('the answer, payment.refunded and refund_issued carry the order exactly as GET reads it', async () => {
    const { order, token } = await placedOrder(t, uid('owner'), { price: 1250, quantity: 2 });
    const { read, refund } = await cancelAgreeing(token, order.id);
    expect(read.payment).toMatchObject({ status: 'refunded', amount_refunded: 2500 });
    expect(refund).toMatchObject({ amount: 2500, currency: 'USD' });
    expect(await said(order.id, 'refund_issued')).toEqual([read]);
  });

  it('with another refund still pending at the provider: refund_pending, and the messages say so too', async () => {
    const p = providerView(emu, 'stripe');
    const { order, token } = await placedOrder(t, uid('buyer'), { price: 1000, quantity: 2, provider: 'stripe' });
    p.refundStatus('pending');
    const admin = await t.adminToken();
    const pending = await t.app.inject({
      method: 'POST',
      url: `/api/orders/${order.id}/refunds`,
      headers: bearer(admin),
      payload: { amount: 700 },
    });
    expect(pending.json().status).toBe('pending');
    p.refundStatus('succeeded');
    const { read, refund } = await cancelAgreeing(token, order.id);
    expect(read.payment).toMatchObject({ status: 'refund_pending', amount_refunded: 1300 });
    expect(refund).toMatchObject({ amount: 1300 });
  });

  it('the order written after the refund was recorded: the confirmation reads it, and announces it as it is', async () => {
    /** A refund of everything, recorded with a write of its order (as a cancel records it), and the order computed for it. */
    const recorded = async () => {
      const { order } = await placedOrder(t, uid('owner'), { price: 900 });
      const before = (await findOrderAndLedger(t.db, order.id))!;
      const id = randomUUID();
      await t.db.transaction().execute(async (trx) => {
        await sql`update orders set updated_at = now() where id = ${order.id}::uuid`.execute(trx);
        await recordMovement(trx, { ...refundOf(order, 900), id });
      });
      const written = (await findOrder(t.db, order.id))!;
      return { m: (await findMovement(t.db, id))!, made: refundMade(written, before.sums, before.charge, 900) };
    };

    // Nothing moved since: the confirmation takes the computed order, and it is the order as read.
    const quiet = await recorded();
    const settled = await refundPayment(t.app.deps, quiet.m, quiet.made);
    expect(settled.status === 'succeeded' && settled.order).toBe(quiet.made);
    expect(quiet.made).toEqual(await findOrder(t.db, quiet.m.order_id));
    expect(quiet.made.payment).toMatchObject({ status: 'refunded', amount_refunded: 900 });

    // Someone wrote the order meanwhile (here its row's timestamp): the computed order is stale.
    const stale = await recorded();
    await sql`update orders set updated_at = updated_at + interval '1 second' where id = ${stale.m.order_id}::uuid`.execute(
      t.db,
    );
    const outcome = await refundPayment(t.app.deps, stale.m, stale.made);
    const read = await findOrder(t.db, stale.m.order_id);
    expect(read!.updated_at).not.toBe(stale.made.updated_at);
    expect(outcome.status === 'succeeded' && outcome.order).toEqual(read);
    const events = await said(stale.m.order_id, 'payment.refunded');
    expect(events).toHaveLength(1);
    expect(without(events[0], 'refund')).toEqual(JSON.parse(JSON.stringify(read)));
  });

  it('settleRefundAsRecorded writes nothing once the order or the sums moved since the refund was recorded', async () => {
    const { order } = await placedOrder(t, uid('owner'), { price: 3000 });
    const now = new Date();
    const refund = (amount: number) => refundOf(order, amount);
    const messages = [{ id: randomUUID(), kind: 'event' as const, topic: 'payment.refunded', payload: '{}' }];
    const settle = (movementId: string) =>
      t.db
        .transaction()
        .execute((trx) => settleRefundAsRecorded(trx, { movementId, providerReference: null, messages, now }));
    const statusOf = async (id: string) => (await findMovement(t.db, id))!.status;

    // Recorded with the order's write, as a cancel records it: settled.
    const first = await t.db.transaction().execute(async (trx) => {
      await sql`update orders set updated_at = now() where id = ${order.id}::uuid`.execute(trx);
      return recordMovement(trx, refund(1000));
    });
    // Recorded alone: the order's row is another transaction's.
    const second = await t.db.transaction().execute((trx) => recordMovement(trx, refund(500)));
    expect(await settle(second.id)).toBe(false);
    expect(await statusOf(second.id)).toBe('pending');
    // The second refund moved the sums since the first was recorded.
    expect(await settle(first.id)).toBe(false);
    expect(await statusOf(first.id)).toBe('pending');

    const third = await t.db.transaction().execute(async (trx) => {
      await sql`update orders set updated_at = now() where id = ${order.id}::uuid`.execute(trx);
      return recordMovement(trx, refund(200));
    });
    expect(await settle(third.id)).toBe(true);
    expect(await statusOf(third.id)).toBe('succeeded');
    expect(await settle(third.id)).toBe(false); // no longer pending
    const written = await t.db.selectFrom('outbox').select('id').where('id', '=', messages[0]!.id).execute();
    expect(written).toHaveLength(1);
  });
});
