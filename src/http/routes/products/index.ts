import type { App, RouteOptions } from '../../types.js';
import getProductRoute from './get-product.js';
import listProductsRoute from './list-products.js';
import putProductRoute from './put-product.js';

/** The catalog: any user reads it, admins write it; every route needs a valid bearer token. */
export default async function productRoutes(app: App, opts: RouteOptions) {
  app.addHook('onRequest', app.authenticate);
  await app.register(putProductRoute, opts);
  await app.register(getProductRoute, opts);
  await app.register(listProductsRoute, opts);
}
