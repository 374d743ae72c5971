import { placeOrder } from '../../../application/place-order.js';
import { sendReplay } from '../../replay.js';
import { problems } from '../../schemas/common.js';
import { CreateOrderBody, IdempotencyHeaders, Order } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

const orderLocation = (order: { id: string }) => `/api/orders/${order.id}`;

export default async function createOrderRoute(app: App, { deps }: RouteOptions) {
  const schema = {
    tags: ['orders'],
    summary: 'Create an order and charge its payment',
    description:
      'Prices come from the catalog. With an `Idempotency-Key`, a retry with the same body returns the first response ' +
      '(`Idempotent-Replayed: true`) and charges nothing more.',
    headers: IdempotencyHeaders,
    body: CreateOrderBody,
    response: { 201: Order, ...problems(400, 401, 402, 409, 413, 415, 422, 429, 502, 503) },
    security: [{ bearerAuth: [] }],
  };
  // The contract's path and its alias, each its own operation in the document (a client's method name).
  for (const [url, operationId] of [
    ['/orders/create', 'createOrder'],
    ['/orders', 'createOrderAtCollection'],
  ] as const) {
    app.post(url, { schema: { ...schema, operationId } }, async (request, reply) => {
      const key = request.headers['idempotency-key'] ?? null;
      const result = await placeOrder(deps, actorOf(request), request.body, key);
      if (result.kind === 'replayed') return sendReplay(request, reply, result, orderLocation);
      return reply.code(201).header('location', orderLocation(result.order)).send(result.order);
    });
  }
}
