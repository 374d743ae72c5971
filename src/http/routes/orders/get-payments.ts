import { getOrderPayments } from '../../../application/get-order-payments.js';
import { problems } from '../../schemas/common.js';
import { Ledger, OrderParams } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function getPaymentsRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/orders/:order_id/payments',
    {
      schema: {
        tags: ['orders'],
        operationId: 'listOrderPayments',
        summary: "An order's payment ledger, oldest first",
        description:
          "Every movement of the order's money (authorization, capture, void, refund, dispute), each recorded before the provider was called; its `id` is the provider's idempotency key. Owner or admin.",
        params: OrderParams,
        response: { 200: Ledger, ...problems(401, 403, 404, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => getOrderPayments(deps, actorOf(request), request.params.order_id),
  );
}
