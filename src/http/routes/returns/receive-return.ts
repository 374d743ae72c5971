import { receiveReturn } from '../../../application/receive-return.js';
import { problems } from '../../schemas/common.js';
import { ReceiveReturnBody, Return, ReturnParams } from '../../schemas/returns.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function receiveReturnRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/returns/:return_id/receive',
    {
      preHandler: app.requireAdmin,
      schema: {
        tags: ['returns'],
        operationId: 'receiveReturn',
        summary: 'Record a requested return as received (admin)',
        description:
          'The units count as `quantity_returned` and go back in stock unless `restock` is false; `refund_amount` is refunded. ' +
          'Only a `requested` return can be received (`409 invalid_transition`).',
        params: ReturnParams,
        body: ReceiveReturnBody,
        response: { 200: Return, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) =>
      receiveReturn(deps, actorOf(request), request.params.order_id, request.params.return_id, request.body ?? {}),
  );
}
