import { rejectReturn } from '../../../application/reject-return.js';
import { problems } from '../../schemas/common.js';
import { RejectReturnBody, Return, ReturnParams } from '../../schemas/returns.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function rejectReturnRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/returns/:return_id/reject',
    {
      preHandler: app.requireAdmin,
      schema: {
        tags: ['returns'],
        operationId: 'rejectReturn',
        summary: 'Refuse a requested return (admin)',
        description:
          'Nothing is refunded and its units may be asked for again. Only a `requested` return can be rejected (`409 invalid_transition`).',
        params: ReturnParams,
        body: RejectReturnBody,
        response: { 200: Return, ...problems(400, 401, 403, 404, 409, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) =>
      rejectReturn(deps, actorOf(request), request.params.order_id, request.params.return_id, request.body ?? {}),
  );
}
