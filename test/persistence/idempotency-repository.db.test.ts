import { type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { completeKey, inspectKey, releaseKey } from '../../src/persistence/idempotency-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { product, reserve } = repositoryFixtures(kind, (opened) => (db = opened));

  describe('idempotency keys', () => {
    const later = () => new Date(Date.now() + 3_600_000);
    /** Claims the key through a reservation, as an order does; a held key is then inspected. */
    const claim = async (user: string, key: string, fp: string, expires = later()) => {
      const r = await reserve([], { userId: user, key, fingerprint: fp, expiresAt: expires });
      if (r.reserved) return { state: 'claimed' };
      return (await inspectKey(db, user, key, fp)) ?? { state: 'free' };
    };

    it('claimed → in_progress → completed (replays the stored response); another body is a mismatch', async () => {
      const [user, key] = [uid('u'), uid('key')];
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'claimed' });
      expect(await claim(user, key, 'fp1')).toEqual({ state: 'in_progress' });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
      await db
        .transaction()
        .execute((trx) => completeKey(trx, user, key, { status: 201, body: { id: 'o1', total: 5 } }));
      expect(await claim(user, key, 'fp1')).toEqual({
        state: 'completed',
        response: { status: 201, body: { id: 'o1', total: 5 } },
      });
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'mismatch' });
    });

    it('keys are per user', async () => {
      const key = uid('shared');
      expect(await claim(uid('u1'), key, 'fp')).toEqual({ state: 'claimed' });
      expect(await claim(uid('u2'), key, 'other')).toEqual({ state: 'claimed' });
    });

    it('a reservation short of stock claims nothing: the key stays free, and a held key is not touched', async () => {
      const [user, key, a] = [uid('u'), uid('key'), uid('out')];
      await product(a, { stock: 0 });
      const request = { userId: user, key, fingerprint: 'fp', expiresAt: later() };
      expect(await reserve([{ product_id: a, quantity: 1 }], request)).toEqual({ reserved: false, short: [a] });
      expect(await inspectKey(db, user, key, 'fp')).toBeUndefined();
      expect(await claim(user, key, 'different')).toEqual({ state: 'claimed' });
      expect(await reserve([{ product_id: a, quantity: 1 }], request)).toEqual({ reserved: false, short: [a] });
      expect(await inspectKey(db, user, key, 'different')).toEqual({ state: 'in_progress' });
    });

    it('racing claims of one key: exactly one reservation is made', async () => {
      const [user, key] = [uid('u'), uid('key')];
      const results = await Promise.all(
        Array.from({ length: 8 }, () => reserve([], { userId: user, key, fingerprint: 'fp', expiresAt: later() })),
      );
      expect(results.filter((r) => r.reserved)).toHaveLength(1);
      expect(results.filter((r) => !r.reserved)).toEqual(
        Array.from({ length: 7 }, () => ({ reserved: false, short: [] })),
      );
    });

    it('a released in-progress key can be claimed again; a completed one is not released', async () => {
      const [user, key] = [uid('u'), uid('key')];
      await claim(user, key, 'fp');
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({ state: 'claimed' });
      await db
        .transaction()
        .execute((trx) => completeKey(trx, user, key, { status: 402, body: { code: 'payment_declined' } }));
      await releaseKey(db, user, key);
      expect(await claim(user, key, 'fp2')).toEqual({
        state: 'completed',
        response: { status: 402, body: { code: 'payment_declined' } },
      });
    });

    it('an expired key (in progress or completed) is re-claimable, with any body', async () => {
      const [user, k1, k2] = [uid('u'), uid('k1'), uid('k2')];
      const past = new Date(Date.now() - 1000);
      await claim(user, k1, 'fp', past);
      expect(await claim(user, k1, 'new-body')).toEqual({ state: 'claimed' });
      expect(await claim(user, k1, 'new-body')).toEqual({ state: 'in_progress' });
      await claim(user, k2, 'fp', past);
      await db.transaction().execute((trx) => completeKey(trx, user, k2, { status: 201, body: {} }));
      expect(await claim(user, k2, 'fp')).toEqual({ state: 'claimed' });
    });
  });
});
