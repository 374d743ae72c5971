import { listReturns } from '../../../application/list-returns.js';
import { problems } from '../../schemas/common.js';
import { OrderParams } from '../../schemas/order.js';
import { ReturnList } from '../../schemas/returns.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function listReturnsRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/orders/:order_id/returns',
    {
      schema: {
        tags: ['returns'],
        operationId: 'listReturns',
        summary: "An order's returns, oldest first (owner or admin)",
        params: OrderParams,
        response: { 200: ReturnList, ...problems(401, 403, 404, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => listReturns(deps, actorOf(request), request.params.order_id),
  );
}
