import { getOrder } from '../../../application/get-order.js';
import { problems } from '../../schemas/common.js';
import { Order, OrderParams } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function getOrderRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/orders/:order_id',
    {
      schema: {
        tags: ['orders'],
        operationId: 'getOrder',
        summary: 'Read one order',
        description: 'Owners read their orders; admins read any. An id that is not a UUID is simply not found (404).',
        params: OrderParams,
        response: { 200: Order, ...problems(401, 403, 404, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => getOrder(deps, actorOf(request), request.params.order_id),
  );
}
