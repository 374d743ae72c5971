import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { listLedger } from '../../src/persistence/ledger.js';
import type { Database } from '../../src/persistence/tables.js';
import {
  claimUnsettled,
  findTransaction,
  moveCharge,
  scheduleRetry,
} from '../../src/persistence/transaction-repository.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { newTransaction, reserve } = repositoryFixtures(kind, (opened) => (db = opened));

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
