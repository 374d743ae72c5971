import { listOrders } from '../../../application/list-orders.js';
import { problems } from '../../schemas/common.js';
import { OrderListQuery, OrderPage } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

export default async function listOrdersRoute(app: App, { deps }: RouteOptions) {
  const schema = {
    tags: ['orders'],
    operationId: 'listOrders',
    summary: "List the caller's orders, newest first",
    description: 'Keyset pagination: pass `next_cursor` as `cursor` to read the next page; `null` means the last page.',
    querystring: OrderListQuery,
    response: { 200: OrderPage, ...problems(401, 422, 429, 503) },
    security: [{ bearerAuth: [] }],
  };
  app.get('/orders', { schema }, async (request) => listOrders(deps, actorOf(request), request.query));
  // The contract's trailing-slash spelling answers the same; the document lists the path once.
  app.get('/orders/', { schema: { ...schema, hide: true } }, async (request) =>
    listOrders(deps, actorOf(request), request.query),
  );
}
