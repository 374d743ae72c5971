import { getProduct } from '../../../application/catalog.js';
import { problems } from '../../schemas/common.js';
import { Product, ProductParams } from '../../schemas/product.js';
import type { App, RouteOptions } from '../../types.js';

export default async function getProductRoute(app: App, { deps }: RouteOptions) {
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
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => getProduct(deps, request.params.product_id, request.user),
  );
}
