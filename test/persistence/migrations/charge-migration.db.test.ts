import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../../src/persistence/migrations/index.js';
import { DATABASES } from '../../helpers/db.js';
import { databaseAt } from '../../helpers/upgraded-db.js';
import { refusal } from '../../helpers/ledger-refusal.js';

/**
 * An upgrade to migration 017: payments as migration 016's service wrote them — the charge's two
 * ledger rows beside each payment, a totals row, later movements — then migrated. The whole ledger
 * must read as it did (ids, kinds, amounts, statuses), the sums likewise, and the database must keep
 * guarding the migrated payments.
 */
describe.each(DATABASES)('moving the charge onto its payment on %s', (kind) => {
  const at = databaseAt(kind, '016-charge-rows-settle-in-place');

  /** A payment, its totals row and its charge's rows, as 016's reservation and settlement wrote them. */
  async function payment(o: {
    status: 'processing' | 'succeeded' | 'failed';
    capture: boolean;
    expires?: string;
    warned?: string;
  }) {
    const id = randomUUID();
    const orderId = randomUUID();
    const rowStatus = o.status === 'processing' ? 'pending' : o.status;
    await sql`
      insert into payment_transactions (id, order_id, customer_id, provider, provider_reference, status, amount, currency, source, order_draft)
      values (${id}::uuid, ${orderId}::uuid, 'olduser', 'sandbox', ${o.status === 'succeeded' ? `sb_${id}` : null}, ${o.status}, 1500, 'USD', 'pm_card_visa', '{}'::jsonb)`.execute(
      at.db,
    );
    await sql`insert into payment_movement_totals (transaction_id, currency, charge_capture)
      values (${id}::uuid, 'USD', ${o.capture ? 1500 : null})`.execute(at.db);
    await sql`
      insert into payment_ledger (id, transaction_id, order_id, kind, amount, currency, status, actor, expires_at, expiry_warned_at, next_attempt_at, charge_authorization_of, charge_capture_of)
      select case k.kind when 'authorization' then ${id}::uuid else md5(${id}::text || ':capture')::uuid end, ${id}::uuid, ${orderId}::uuid,
             k.kind, 1500, 'USD', ${rowStatus}, 'olduser',
             case k.kind when 'authorization' then ${o.expires ?? null}::timestamptz end,
             case k.kind when 'authorization' then ${o.warned ?? null}::timestamptz end, 'infinity',
             case k.kind when 'authorization' then ${id}::uuid end, case k.kind when 'capture' then ${id}::uuid end
      from (values (1, 'authorization'), (2, 'capture')) k(n, kind) where k.kind = 'authorization' or ${o.capture}
      order by k.n`.execute(at.db);
    return { id, orderId };
  }

  const movement = (p: { id: string; orderId: string }, kind: string, amount: number, status: string) =>
    sql`insert into payment_ledger (id, transaction_id, order_id, kind, amount, currency, status, actor)
        values (${randomUUID()}::uuid, ${p.id}::uuid, ${p.orderId}::uuid, ${kind}, ${amount}, 'USD', ${status}, 'support')`.execute(
      at.db,
    );
  const ledger = async (id: string) =>
    (
      await sql<{ id: string; kind: string; amount: string; status: string; currency: string }>`
        select id, kind, amount::text as amount, status, currency from payment_ledger where transaction_id = ${id}::uuid order by seq`.execute(
        at.db,
      )
    ).rows;
  const sums = async (id: string) =>
    (await sql<Record<string, unknown>>`select * from payment_totals where transaction_id = ${id}::uuid`.execute(at.db))
      .rows[0];

  it('every payment reads as before: its ledger, its sums and its expiry; the movements keep guarding it', async () => {
    const paid = await payment({ status: 'succeeded', capture: true });
    await movement(paid, 'refund', 400, 'succeeded');
    await movement(paid, 'refund', 300, 'pending');
    const authorized = await payment({
      status: 'succeeded',
      capture: false,
      expires: '2031-01-01T00:00:00Z',
      warned: '2030-12-31T00:00:00Z',
    });
    await movement(authorized, 'capture', 1500, 'pending');
    const charging = await payment({ status: 'processing', capture: true });
    const declined = await payment({ status: 'failed', capture: true });
    const all = [paid, authorized, charging, declined];
    const before = await Promise.all(all.map(async (p) => ({ ledger: await ledger(p.id), sums: await sums(p.id) })));
    expect(before[0]!.ledger.map((r) => [r.kind, r.status])).toEqual([
      ['authorization', 'succeeded'],
      ['capture', 'succeeded'],
      ['refund', 'succeeded'],
      ['refund', 'pending'],
    ]);

    expect(await migrateToLatest(at.db)).toContain('017-charge-on-the-payment');
    for (const [i, p] of all.entries()) {
      expect(await ledger(p.id)).toEqual(before[i]!.ledger);
      expect(await sums(p.id)).toEqual(before[i]!.sums);
    }
    expect((await sums(authorized.id))?.authorization_expires_at).toEqual(new Date('2031-01-01T00:00:00Z'));
    const stored = await sql<{ transaction_id: string; kind: string }>`
      select transaction_id, kind from payment_movements where transaction_id in (${sql.join(all.map((p) => sql`${p.id}::uuid`))})
      order by seq`.execute(at.db);
    expect(stored.rows).toEqual([
      { transaction_id: paid.id, kind: 'refund' },
      { transaction_id: paid.id, kind: 'refund' },
      { transaction_id: authorized.id, kind: 'capture' },
    ]);
    const charges = await sql<{
      id: string;
      charge_capture: string | null;
      authorization_expiry_warned_at: Date | null;
    }>`
      select id, charge_capture::text, authorization_expiry_warned_at from payment_transactions where id = ${authorized.id}::uuid or id = ${paid.id}::uuid`.execute(
      at.db,
    );
    expect(new Map(charges.rows.map((r) => [r.id, [r.charge_capture, r.authorization_expiry_warned_at]]))).toEqual(
      new Map([
        [paid.id, ['1500', null]],
        [authorized.id, [null, new Date('2030-12-31T00:00:00Z')]],
      ]),
    );

    // The migrated payments are guarded as new ones: 800 more refunded than the 700 taken is refused,
    // and the 800 left is not; a second capture beyond the authorization is refused.
    const into = (p: { id: string; orderId: string }, kind: string, amount: number) =>
      sql`insert into payment_movements (id, transaction_id, order_id, kind, amount, currency, status, actor)
          values (${randomUUID()}::uuid, ${p.id}::uuid, ${p.orderId}::uuid, ${kind}, ${amount}, 'USD', 'pending', 'support')`.execute(
        at.db,
      );
    expect(await refusal(into(paid, 'refund', 801))).toBe('invariant');
    expect(await refusal(into(paid, 'refund', 800))).toBe('accepted');
    expect(await refusal(into(authorized, 'capture', 1))).toBe('invariant');
    // A movement written before the migrations settles under the triggers of 018, its sums with it.
    const settle = sql`update payment_movements set status = 'succeeded'
      where transaction_id = ${paid.id}::uuid and kind = 'refund' and amount = 300`;
    expect(await refusal(settle.execute(at.db))).toBe('accepted');
    const after = await sums(paid.id);
    expect([Number(after?.refunded), Number(after?.pending_refunds)]).toEqual([700, 800]);
    expect(
      await refusal(
        sql`update payment_transactions set status = 'failed' where id = ${charging.id}::uuid`.execute(at.db),
      ),
    ).toBe('accepted');
    expect((await ledger(charging.id)).map((r) => r.status)).toEqual(['failed', 'failed']);
  });
});
