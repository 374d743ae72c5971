import { getProduct, listProducts, putProduct } from '../../../application/catalog.js';
import { problems } from '../../schemas/common.js';
import { Product, ProductBody, ProductListQuery, ProductPage, ProductParams } from '../../schemas/product.js';
import type { App, RouteOptions } from '../../types.js';

/** The catalog: any user reads it, admins write it. Three small routes, one scope. */
export default async function productRoutes(app: App, { deps }: RouteOptions) {
  app.addHook('onRequest', app.authenticate);
  const security = [{ bearerAuth: [] }];

  app.put(
    '/products/:product_id',
    {
      preHandler: app.requireAdmin,
      schema: {
        tags: ['catalog'],
        operationId: 'putProduct',
        summary: 'Create or replace a product (admin)',
        params: ProductParams,
        body: ProductBody,
        response: { 200: Product, ...problems(400, 401, 403, 415, 422, 429, 503) },
        security,
      },
    },
    async (request) => putProduct(deps, { id: request.params.product_id, ...request.body }),
  );

  app.get(
    '/products/:product_id',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'getProduct',
        summary: 'Read a product',
        description: 'An inactive product is `404 product_not_found` for customers; admins still read it.',
        params: ProductParams,
        response: { 200: Product, ...problems(401, 404, 422, 429, 503) },
        security,
      },
    },
    async (request) => getProduct(deps, request.params.product_id, request.user),
  );

  app.get(
    '/products',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'listProducts',
        summary: 'List active products',
        querystring: ProductListQuery,
        response: { 200: ProductPage, ...problems(401, 422, 429, 503) },
        security,
      },
    },
    async (request) => listProducts(deps, request.query),
  );
}
