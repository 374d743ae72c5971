import { type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { findProduct, releaseStock } from '../../src/persistence/product-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import { findTransaction } from '../../src/persistence/transaction-repository.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { product, newTransaction, reserve } = repositoryFixtures(kind, (opened) => (db = opened));

  describe('stock reservation', () => {
    it('takes every quantity and records the transaction as processing; release gives the units back', async () => {
      const [a, b] = [uid('sa'), uid('sb')];
      await product(a, { stock: 5 });
      await product(b, { stock: 2 });
      const t = newTransaction(uid('u'));
      expect(
        await reserve(
          [
            { product_id: a, quantity: 3 },
            { product_id: b, quantity: 2 },
          ],
          null,
          t,
        ),
      ).toEqual({ reserved: true });
      expect((await findProduct(db, a))?.stock).toBe(2);
      expect((await findProduct(db, b))?.stock).toBe(0);
      expect(await findTransaction(db, t.id)).toMatchObject({
        status: 'processing',
        amount: 500,
        customer_id: t.draft.user_id,
        order_id: t.draft.order_id,
        draft: t.draft,
      });
      await db.transaction().execute((trx) =>
        releaseStock(trx, [
          { product_id: a, quantity: 3 },
          { product_id: b, quantity: 1 },
        ]),
      );
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
    });

    it('not enough stock of any product: the short ids, and nothing written at all', async () => {
      const [a, b, c] = [uid('na'), uid('nb'), uid('nc')];
      await product(a, { stock: 5 });
      await product(b, { stock: 1 });
      await product(c, { stock: 0 });
      const t = newTransaction(uid('u'));
      const r = await reserve(
        [
          { product_id: a, quantity: 1 },
          { product_id: b, quantity: 2 },
          { product_id: c, quantity: 1 },
        ],
        null,
        t,
      );
      expect(r).toEqual({ reserved: false, short: [b, c].sort() });
      expect((await findProduct(db, a))?.stock).toBe(5);
      expect((await findProduct(db, b))?.stock).toBe(1);
      expect((await findProduct(db, c))?.stock).toBe(0);
      expect(await findTransaction(db, t.id)).toBeUndefined();
    });

    it('exactly the remaining stock can be taken', async () => {
      const a = uid('ex');
      await product(a, { stock: 3 });
      expect(await reserve([{ product_id: a, quantity: 3 }])).toEqual({ reserved: true });
      expect(await reserve([{ product_id: a, quantity: 1 }])).toEqual({ reserved: false, short: [a] });
      expect((await findProduct(db, a))?.stock).toBe(0);
    });

    it('racing reservations of the last units: exactly the stock is sold, never more', async () => {
      const a = uid('race');
      await product(a, { stock: 4 });
      const results = await Promise.all(Array.from({ length: 10 }, () => reserve([{ product_id: a, quantity: 1 }])));
      expect(results.filter((r) => r.reserved)).toHaveLength(4);
      expect((await findProduct(db, a))?.stock).toBe(0);
    });

    it('unlimited stock (null) is never touched, by reserve or release', async () => {
      const u = uid('un');
      await product(u, { stock: null });
      expect(await reserve([{ product_id: u, quantity: 1000 }])).toEqual({ reserved: true });
      expect(await reserve([])).toEqual({ reserved: true });
      await db.transaction().execute((trx) => releaseStock(trx, [{ product_id: u, quantity: 7 }]));
      expect((await findProduct(db, u))?.stock).toBeNull();
    });
  });
});
