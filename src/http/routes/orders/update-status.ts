import { updateOrderStatus } from '../../../application/update-order-status.js';
import { problems } from '../../schemas/common.js';
import { Order, OrderParams, StatusBody } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function updateStatusRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/status',
    {
      preHandler: app.requireAdmin,
      schema: {
        tags: ['tracking'],
        operationId: 'updateOrderStatus',
        summary: 'Move an order one step along its fulfilment (admin)',
        description:
          'pending → processing → shipped → delivered, one step at a time; cancellation only through the cancel route.',
        params: OrderParams,
        body: StatusBody,
        response: { 200: Order, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => updateOrderStatus(deps, actorOf(request), request.params.order_id, request.body),
  );
}
