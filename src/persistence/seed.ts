import type { CatalogProduct } from '../domain/pricing.js';
import { countProducts, upsertProduct } from './product-repository.js';
import type { Db } from './tables.js';

/** A first run on the embedded database has something to order. */
const DEMO_CATALOG: CatalogProduct[] = [
  { id: 'sku_tshirt', name: 'T-shirt', price: 1999, currency: 'USD', active: true, stock: 100 },
  { id: 'sku_mug', name: 'Coffee mug', price: 1250, currency: 'USD', active: true, stock: 50 },
  { id: 'sku_sticker', name: 'Sticker pack', price: 499, currency: 'USD', active: true, stock: null },
  { id: 'sku_hoodie', name: 'Hoodie', price: 4999, currency: 'USD', active: true, stock: 5 },
  { id: 'sku_tenugui', name: 'Tenugui towel', price: 1500, currency: 'JPY', active: true, stock: 20 },
];

export async function seedDemoCatalog(db: Db, now = new Date()): Promise<number> {
  if ((await countProducts(db)) > 0) return 0;
  for (const p of DEMO_CATALOG) await upsertProduct(db, p, now);
  return DEMO_CATALOG.length;
}
