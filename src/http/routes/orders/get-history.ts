import { getOrderHistory } from '../../../application/get-order-history.js';
import { problems } from '../../schemas/common.js';
import { History, OrderParams } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function getHistoryRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/orders/:order_id/history',
    {
      schema: {
        tags: ['tracking'],
        operationId: 'getOrderHistory',
        summary: "An order's status history, oldest first",
        params: OrderParams,
        response: { 200: History, ...problems(401, 403, 404, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => getOrderHistory(deps, actorOf(request), request.params.order_id),
  );
}
