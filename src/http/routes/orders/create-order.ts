import { placeOrder } from '../../../application/place-order.js';
import type { ErrorCode } from '../../../domain/errors.js';
import { sendProblem } from '../../problem.js';
import { problems } from '../../schemas/common.js';
import { CreateOrderBody, IdempotencyHeaders, Order } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function createOrderRoute(app: App, { deps }: RouteOptions) {
  const schema = {
    tags: ['orders'],
    summary: 'Create an order and charge its payment',
    description:
      'Prices come from the catalog. With an `Idempotency-Key`, a retry with the same body returns the first response ' + '(`Idempotent-Replayed: true`) and charges nothing more.',
    headers: IdempotencyHeaders,
    body: CreateOrderBody,
    response: { 201: Order, ...problems(400, 401, 402, 409, 413, 415, 422, 429, 502, 503) },
    security: [{ bearerAuth: [] }],
  };
  for (const url of ['/orders/create', '/orders']) {
    app.post(url, { schema }, async (request, reply) => {
      const key = request.headers['idempotency-key'] ?? null;
      const result = await placeOrder(deps, actorOf(request), request.body, key);
      if (result.kind === 'replayed') {
        reply.header('idempotent-replayed', 'true');
        const { status, body } = result.response;
        if (status === 201) {
          const order = body as { id: string };
          return reply
            .code(201)
            .header('location', `/api/orders/${order.id}`)
            .send(body as never);
        }
        const { code, detail, ...extra } = body as { code: ErrorCode; detail: string };
        return sendProblem(request, reply, code, detail, extra);
      }
      return reply.code(201).header('location', `/api/orders/${result.order.id}`).send(result.order);
    });
  }
}
