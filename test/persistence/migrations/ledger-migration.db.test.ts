import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { listLedger, readLedgerSums } from '../../../src/persistence/ledger.js';
import { migrateToLatest } from '../../../src/persistence/migrations/index.js';
import { findOrder } from '../../../src/persistence/order-repository.js';
import { DATABASES } from '../../helpers/db.js';
import { databaseAt } from '../../helpers/upgraded-db.js';
import { ledgerTotals } from '../../helpers/ledger-totals.js';

/**
 * An upgrade: a database at migration 006 holding orders of every payment state as the service
 * wrote them before the ledger, then migrated up. Each order must still read as it did, its
 * ledger must say why, and a refund still in flight must keep the idempotency key it was sent with.
 */
describe.each(DATABASES)('migrating payments into the ledger on %s', (kind) => {
  const at = databaseAt(kind, '006-admin-search-indexes');

  /** One old-style transaction (and its order, when it became one), written as the old code did. */
  async function oldPayment(
    status: string,
    opts: { amount?: number; refunded?: number; order?: boolean; reference?: string | null } = {},
  ) {
    const id = randomUUID();
    const orderId = randomUUID();
    const amount = opts.amount ?? 1500;
    const reference =
      opts.reference === undefined
        ? status === 'processing' || status === 'failed'
          ? null
          : `ch_${id}`
        : opts.reference;
    await sql`
      insert into payment_transactions (id, order_id, customer_id, provider, provider_reference, status, amount, amount_refunded, currency, source, order_draft, failure_reason, created_at, updated_at)
      values (${id}::uuid, ${orderId}::uuid, 'olduser', 'sandbox', ${reference}, ${status}, ${amount}, ${opts.refunded ?? 0}, 'USD', 'pm_card_visa', '{}'::jsonb,
              ${status === 'refund_pending' ? 'provider timed out' : null}, '2026-01-01T10:00:00Z', '2026-01-02T10:00:00Z')`.execute(
      at.db,
    );
    if (opts.order ?? ['succeeded', 'refund_pending', 'refunded'].includes(status)) {
      await sql`
        insert into orders (id, user_id, status, currency, total, email, transaction_id, created_at, updated_at)
        values (${orderId}::uuid, 'olduser', ${status === 'succeeded' ? 'pending' : 'cancelled'}, 'USD', ${amount}, null, ${id}::uuid, '2026-01-01T10:00:00Z', '2026-01-02T10:00:00Z')`.execute(
        at.db,
      );
      await sql`
        insert into order_items (order_id, position, product_id, name, quantity, unit_price, line_total)
        values (${orderId}::uuid, 0, 'sku_old', 'Old thing', 3, ${amount / 3}, ${amount})`.execute(at.db);
    }
    return { id, orderId, reference };
  }

  it('every order reads as before; the ledger explains each; amount_refunded is gone', async () => {
    const paid = await oldPayment('succeeded');
    const refunded = await oldPayment('refunded', { refunded: 1500 });
    const inFlight = await oldPayment('refund_pending');
    const declined = await oldPayment('failed');
    const charging = await oldPayment('processing');
    const free = await oldPayment('succeeded', { amount: 0 });

    expect(await migrateToLatest(at.db)).toContain('007-payment-ledger');
    const kdb = at.handle.db;

    const order = async (id: string) => (await findOrder(kdb, id))!;
    expect((await order(paid.orderId)).payment).toMatchObject({
      status: 'succeeded',
      amount: 1500,
      amount_authorized: 1500,
      amount_captured: 1500,
      amount_refunded: 0,
      provider_reference: paid.reference,
    });
    expect((await order(refunded.orderId)).payment).toMatchObject({
      status: 'refunded',
      amount_captured: 1500,
      amount_refunded: 1500,
    });
    expect((await order(inFlight.orderId)).payment).toMatchObject({
      status: 'refund_pending',
      amount_captured: 1500,
      amount_refunded: 0,
    });
    expect((await order(free.orderId)).payment).toMatchObject({
      status: 'succeeded',
      amount: 0,
      amount_authorized: 0,
      amount_captured: 0,
    });
    const items = (await order(paid.orderId)).items;
    expect(items).toEqual([
      {
        product_id: 'sku_old',
        name: 'Old thing',
        quantity: 3,
        unit_price: 500,
        line_total: 1500,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ]);
    expect((await order(paid.orderId)).current_total).toBe(1500);

    const kinds = async (id: string) => (await listLedger(kdb, id)).map((e) => [e.kind, e.status, e.amount]);
    expect(await kinds(paid.id)).toEqual([
      ['authorization', 'succeeded', 1500],
      ['capture', 'succeeded', 1500],
    ]);
    expect(await kinds(refunded.id)).toEqual([
      ['authorization', 'succeeded', 1500],
      ['capture', 'succeeded', 1500],
      ['refund', 'succeeded', 1500],
    ]);
    expect(await kinds(inFlight.id)).toEqual([
      ['authorization', 'succeeded', 1500],
      ['capture', 'succeeded', 1500],
      ['refund', 'pending', 1500],
    ]);
    expect(await kinds(declined.id)).toEqual([
      ['authorization', 'failed', 1500],
      ['capture', 'failed', 1500],
    ]);
    expect(await kinds(charging.id)).toEqual([
      ['authorization', 'pending', 1500],
      ['capture', 'pending', 1500],
    ]);
    expect(await kinds(free.id)).toEqual([]);

    // A charge's key was derived from the transaction id, and so was its full refund's: the refund
    // still in flight keeps it, so retrying it after the upgrade cannot refund twice.
    const ids = async (id: string) => (await listLedger(kdb, id)).map((e) => e.id);
    expect((await ids(paid.id))[0]).toBe(paid.id);
    expect((await ids(inFlight.id))[2]).toBe(inFlight.id);
    const pending = await sql<{
      last_error: string | null;
    }>`select last_error from payment_ledger where id = ${inFlight.id}::uuid`.execute(at.db);
    expect(pending.rows[0]?.last_error).toBe('provider timed out');

    // A transaction's status now says only how its charge ended.
    const statuses = await sql<{ id: string; status: string }>`select id, status from payment_transactions`.execute(
      at.db,
    );
    const byId = new Map(statuses.rows.map((r) => [r.id, r.status]));
    expect([paid, refunded, inFlight, declined, charging].map((p) => byId.get(p.id))).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'failed',
      'processing',
    ]);
    const columns = await sql<{ column_name: string }>`
      select column_name from information_schema.columns where table_schema = current_schema() and table_name = 'payment_transactions'`.execute(
      at.db,
    );
    expect(columns.rows.map((c) => c.column_name)).not.toContain('amount_refunded');

    // Migration 010 filled in every payment's totals from the ledger 007 wrote: what an order reads above.
    for (const p of [paid, refunded, inFlight, declined, charging, free])
      expect(await ledgerTotals(kdb, p.id)).toEqual(await readLedgerSums(kdb, p.id));
  });
});
