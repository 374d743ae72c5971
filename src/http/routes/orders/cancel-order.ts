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
        summary: 'Cancel a pending order and refund it in full',
        description: '`payment.status` is `refunded`, or `refund_pending` while the provider has not confirmed (the refund is retried until it has).',
        params: OrderParams,
        body: CancelBody,
        response: { 200: CancelResponse, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => {
      const order = await cancelOrder(deps, actorOf(request), request.params.order_id, request.body?.reason ?? null);
      return { message: 'Order cancelled', order };
    },
  );
}
