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
          'pending → processing → shipped → delivered, one step at a time; cancellation only through the cancel route. ' +
          'In shipment capture mode the move to shipped captures first; where the provider confirms a capture only later ' +
          '(Adyen), the answer is 202 with the order as it stands, shipped by the confirmation.',
        params: OrderParams,
        body: StatusBody,
        response: { 200: Order, 202: Order, ...problems(400, 401, 402, 403, 404, 409, 415, 422, 429, 502, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request, reply) => {
      const { order, accepted } = await updateOrderStatus(
        deps,
        actorOf(request),
        request.params.order_id,
        request.body,
      );
      // The move waits for the provider to confirm its capture (Adyen): accepted, not yet made (docs/adr/0024).
      if (accepted) reply.code(202);
      return order;
    },
  );
}
