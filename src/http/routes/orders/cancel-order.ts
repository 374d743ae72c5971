import { cancelOrder } from '../../../application/cancel-order.js';
import { problems } from '../../schemas/common.js';
import { CancelBody, CancelResponse, OrderParams } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function cancelOrderRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/cancel',
    {
      schema: {
        tags: ['orders'],
        operationId: 'cancelOrder',
        summary: 'Cancel a pending order, or some of its units, and give their money back',
        description:
          'Without `items`, the whole order: `payment.status` is `refunded` (or `voided` before capture), or `refund_pending` while the provider has not ' +
          'confirmed (retried until it has). With `items`, those units only: their stock back, `quantity_cancelled` and `current_total` updated, ' +
          "their amount refunded (immediate capture) or never captured (shipment capture); the last units' cancel cancels the order. " +
          '`422 invalid_items` for a product not in the order, named twice, or more units than remain.',
        params: OrderParams,
        body: CancelBody,
        response: { 200: CancelResponse, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => {
      const { order, whole } = await cancelOrder(
        deps,
        actorOf(request),
        request.params.order_id,
        request.body?.reason ?? null,
        request.body?.items,
      );
      return { message: whole ? 'Order cancelled' : 'Items cancelled', order };
    },
  );
}
