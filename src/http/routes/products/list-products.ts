import { listProducts } from '../../../application/catalog.js';
import { problems } from '../../schemas/common.js';
import { ProductListQuery, ProductPage } from '../../schemas/product.js';
import type { App, RouteOptions } from '../../types.js';

export default async function listProductsRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/products',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'listProducts',
        summary: 'List active products',
        querystring: ProductListQuery,
        response: { 200: ProductPage, ...problems(401, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => listProducts(deps, request.query),
  );
}
