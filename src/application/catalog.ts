import { errors } from '../domain/errors.js';
import type { CatalogProduct } from '../domain/pricing.js';
import { findProduct, listActiveProducts, upsertProduct, type Product } from '../persistence/product-repository.js';
import { decodeProductCursor, encodeProductCursor } from './cursor.js';
import type { Deps } from './deps.js';

/** The catalog's three use cases are one line each; they share this file. */
export function putProduct(deps: Deps, product: CatalogProduct): Promise<Product> {
  return upsertProduct(deps.db, product, deps.clock());
}

/** An inactive product is withdrawn from sale: customers see it as gone, admins (who manage it) still read it. */
export async function getProduct(deps: Deps, id: string, reader: { isAdmin: boolean }): Promise<Product> {
  const p = await findProduct(deps.db, id);
  if (!p || (!p.active && !reader.isAdmin)) throw errors.productNotFound(id);
  return p;
}

export async function listProducts(deps: Deps, query: { limit?: number; cursor?: string }) {
  const limit = query.limit ?? 20;
  const after = query.cursor ? decodeProductCursor(query.cursor) : null;
  const rows = await listActiveProducts(deps.db, limit + 1, after);
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last ? encodeProductCursor(last.id) : null };
}
