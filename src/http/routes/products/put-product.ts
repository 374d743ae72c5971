import { putProduct } from '../../../application/catalog.js';
import { problems } from '../../schemas/common.js';
import { Product, ProductBody, ProductParams } from '../../schemas/product.js';
import type { App, RouteOptions } from '../../types.js';

export default async function putProductRoute(app: App, { deps }: RouteOptions) {
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
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => putProduct(deps, { id: request.params.product_id, ...request.body }),
  );
}
