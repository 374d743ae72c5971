import { requestReturn } from '../../../application/request-return.js';
import { problems } from '../../schemas/common.js';
import { OrderParams } from '../../schemas/order.js';
import { RequestReturnBody, Return } from '../../schemas/returns.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function requestReturnRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/returns',
    {
      schema: {
        tags: ['returns'],
        operationId: 'requestReturn',
        summary: 'Ask to return units of a delivered order (owner or admin)',
        description:
          'Within `RETURN_WINDOW_DAYS` of delivery (`409 order_not_returnable` otherwise). Each product at most once, ' +
          'at most the units delivered minus those in returns that are not rejected (`422 invalid_items`). ' +
          '`refund_amount` is priced from the order and refunded when the return is received.',
        params: OrderParams,
        body: RequestReturnBody,
        response: { 201: Return, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request, reply) => {
      const ret = await requestReturn(deps, actorOf(request), request.params.order_id, request.body);
      return reply.code(201).header('location', `/api/orders/${ret.order_id}/returns/${ret.id}`).send(ret);
    },
  );
}
