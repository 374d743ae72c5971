import { type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  findProduct,
  findProducts,
  listActiveProducts,
  upsertProduct,
} from '../../src/persistence/product-repository.js';
import type { Database } from '../../src/persistence/tables.js';
import { DATABASES } from '../helpers/db.js';
import { uid } from '../helpers/http.js';
import { NOW, repositoryFixtures } from './support.js';

describe.each(DATABASES)('repositories on %s', (kind) => {
  let db!: Kysely<Database>;
  const { product } = repositoryFixtures(kind, (opened) => (db = opened));

  describe('products', () => {
    it('upsert creates, then replaces every field; find reads it back', async () => {
      const id = uid('prod');
      const created = await product(id, { price: 1999, stock: 5 });
      expect(created).toMatchObject({ id, name: `Name ${id}`, price: 1999, currency: 'USD', active: true, stock: 5 });
      expect(created.created_at).toBe(NOW.toISOString());
      const later = new Date(NOW.getTime() + 60_000);
      const replaced = await upsertProduct(
        db,
        { id, name: 'Renamed', price: 2500, currency: 'EUR', active: false, stock: null },
        later,
      );
      expect(replaced).toMatchObject({
        id,
        name: 'Renamed',
        price: 2500,
        currency: 'EUR',
        active: false,
        stock: null,
        created_at: NOW.toISOString(),
        updated_at: later.toISOString(),
      });
      expect(await findProduct(db, id)).toEqual(replaced);
      expect(await findProduct(db, uid('missing'))).toBeUndefined();
    });

    it('keeps large prices exact (bigint column, safe-integer JS number)', async () => {
      const id = uid('big');
      await product(id, { price: Number.MAX_SAFE_INTEGER });
      expect((await findProduct(db, id))?.price).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('findProducts returns only the ids that exist', async () => {
      const [a, b] = [uid('a'), uid('b')];
      await product(a);
      await product(b);
      const found = await findProducts(db, [a, b, uid('nope')]);
      expect([...found.keys()].sort()).toEqual([a, b].sort());
      expect((await findProducts(db, [])).size).toBe(0);
    });

    it('lists active products only, by id, in keyset pages', async () => {
      const prefix = uid('list');
      const ids = ['c', 'a', 'e', 'b', 'd'].map((s) => `${prefix}_${s}`);
      for (const id of ids) await product(id);
      await product(`${prefix}_bb`, { active: false });
      const seen: string[] = [];
      let after: string | null = `${prefix}_`; // start just before this test's ids
      for (;;) {
        const page: { id: string }[] = (await listActiveProducts(db, 2, after)).filter((p) => p.id.startsWith(prefix));
        if (page.length === 0) break;
        seen.push(...page.map((p) => p.id));
        after = page[page.length - 1]!.id;
      }
      expect(seen).toEqual([...ids].sort());
    });
  });
});
