import { Type } from 'typebox';
import { searchOrders } from '../../../application/search-orders.js';
import { ORDER_STATUSES } from '../../../domain/order-status.js';
import { Cursor, PageLimit, problems } from '../../schemas/common.js';
import { OrderPage } from '../../schemas/order.js';
import type { App, RouteOptions } from '../../types.js';

// RFC 3339 (ajv-formats' date-time: a date, a time and a zone offset are all required).
const Rfc3339 = (description: string) => Type.String({ format: 'date-time', maxLength: 64, description });

const AdminOrderQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
    status: Type.Optional(Type.Enum(ORDER_STATUSES)),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'the `sub` that owns the order' })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'exact, case-insensitive' })),
    created_from: Type.Optional(Rfc3339('created at or after (inclusive)')),
    created_to: Type.Optional(Rfc3339('created before (exclusive)')),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          'a whole order id, the first 8 hex digits of one (as emails show them), an email, or a user id; a user id may look like any of the others, so it is always tried too',
      }),
    ),
  },
  { additionalProperties: false },
);

export default async function searchOrdersRoute(app: App, { deps }: RouteOptions) {
  const schema = {
    tags: ['admin'],
    operationId: 'searchOrders',
    summary: "Search every customer's orders, newest first (admin)",
    description:
      'Filters combine with AND. Keyset pagination as for `GET /api/orders`: pass `next_cursor` as `cursor` ' +
      'with the same filters; `null` means the last page. A non-RFC 3339 date, `created_from` after `created_to` ' +
      'or an unknown parameter is `422 validation_error`; a cursor the service did not issue is `422 invalid_cursor`.',
    querystring: AdminOrderQuery,
    response: { 200: OrderPage, ...problems(401, 403, 422, 429, 503) },
    security: [{ bearerAuth: [] }],
  };
  app.get('/admin/orders', { schema }, async (request) => searchOrders(deps, request.query));
}
