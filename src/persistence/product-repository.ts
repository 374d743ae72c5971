import { sql } from 'kysely';
import type { CatalogProduct } from '../domain/pricing.js';
import { compileByShape, slot } from './compiled.js';
import { toAmount, toIso } from './rows.js';
import { idArray, qtyArray } from './sql-fragments.js';
import type { Db, ProductRow } from './tables.js';

export interface Product extends CatalogProduct {
  created_at: string;
  updated_at: string;
}

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  name: r.name,
  price: toAmount(r.price),
  currency: r.currency,
  active: r.active,
  stock: r.stock,
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

export async function upsertProduct(db: Db, p: CatalogProduct, now: Date): Promise<Product> {
  const row = await db
    .insertInto('products')
    .values({ ...p, created_at: now, updated_at: now } as never)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        name: p.name,
        price: p.price,
        currency: p.currency,
        active: p.active,
        stock: p.stock,
        updated_at: now,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return toProduct(row);
}

export async function findProduct(db: Db, id: string): Promise<Product | undefined> {
  const row = await db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toProduct(row);
}

export async function findProducts(db: Db, ids: readonly string[]): Promise<Map<string, Product>> {
  if (ids.length === 0) return new Map();
  const { rows } = await productsById(String(ids.length))(db, Object.fromEntries(ids.map((id, i) => [`id${i}`, id])));
  return new Map(rows.map((r) => [r.id, toProduct(r)]));
}

/** One compiled statement per number of ids (an order has at most a hundred items). */
const productsById = compileByShape((db, count) =>
  db
    .selectFrom('products')
    .selectAll()
    .where(
      'id',
      'in',
      Array.from({ length: Number(count) }, (_, i) => slot(`id${i}`)),
    ),
);

export async function listActiveProducts(db: Db, limit: number, afterId: string | null): Promise<Product[]> {
  let q = db.selectFrom('products').selectAll().where('active', '=', true);
  if (afterId !== null) q = q.where('id', '>', afterId);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toProduct);
}

export async function countProducts(db: Db): Promise<number> {
  const r = await db
    .selectFrom('products')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Gives reserved units back (decline, provider failure). */
export async function releaseStock(trx: Db, items: readonly { product_id: string; quantity: number }[]): Promise<void> {
  if (items.length === 0) return;
  await stockReturn(items).execute(trx);
}

/**
 * The statement that gives units back, also run inside a cancel's single statement (cancellation.ts).
 * It locks the rows in id order first, as the reservation does: an UPDATE alone locks them in the
 * order its join meets them (a table's physical order, which updates keep changing), and a restock
 * and a reservation over the same two products deadlocked.
 */
export function stockReturn(items: readonly { product_id: string; quantity: number }[]) {
  return sql`
    update products p set stock = p.stock + w.quantity, updated_at = now()
    from (
      select l.id, w.quantity
      from products l join unnest(${idArray(items.map((i) => i.product_id))}, ${qtyArray(items.map((i) => i.quantity))}) as w(id, quantity) on w.id = l.id
      where l.stock is not null order by l.id for update of l
    ) w
    where p.id = w.id`;
}
