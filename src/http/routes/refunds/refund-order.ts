import { refundOrder } from '../../../application/refund-order.js';
import { sendReplay } from '../../replay.js';
import { problems } from '../../schemas/common.js';
import { IdempotencyHeaders, LedgerEntry, OrderParams } from '../../schemas/order.js';
import { RefundBody } from '../../schemas/refunds.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

/** Support's refund by hand (admin). */
export default async function refundOrderRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/refunds',
    {
      preHandler: app.requireAdmin,
      schema: {
        tags: ['payments'],
        operationId: 'refundOrder',
        summary: 'Refund part or all of what an order paid (admin)',
        description:
          'One `refund` entry of the ledger, `pending` until the provider confirms (retried until it does) or `succeeded`. Any order status. ' +
          '`422 refund_exceeds_captured` above captured − refunded − refunds in flight; `409 payment_not_captured` when nothing was captured ' +
          '(authorized only, or voided). With an `Idempotency-Key`, a retry with the same body returns the first answer ' +
          '(`Idempotent-Replayed: true`) and refunds nothing more.',
        headers: IdempotencyHeaders,
        params: OrderParams,
        body: RefundBody,
        response: { 201: LedgerEntry, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'] ?? null;
      const result = await refundOrder(deps, actorOf(request), request.params.order_id, request.body, key);
      if (result.kind === 'replayed') return sendReplay(request, reply, result);
      return reply.code(201).send(result.entry);
    },
  );
}
