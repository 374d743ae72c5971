import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listOutbox } from '../../../application/list-outbox.js';
import type { Deps } from '../../../application/deps.js';
import { retryOutboxMessage } from '../../../application/retry-outbox-message.js';
import { OUTBOX_STATUSES } from '../../../domain/messages.js';
import { Cursor, PageLimit, problems } from '../../schemas/common.js';

const Timestamp = Type.String({ format: 'date-time' });

const OutboxItem = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.String({ description: 'email | event' }),
    topic: Type.String({ description: 'email kind (order_confirmation…) or event type (order.created…)' }),
    status: Type.String({ description: 'pending | delivered | dead' }),
    attempts: Type.Integer({ minimum: 0 }),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    next_attempt_at: Timestamp,
    delivered_at: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);

const OutboxPage = Type.Object({ items: Type.Array(OutboxItem), next_cursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false });

const OutboxQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(OUTBOX_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

const RetryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export interface OutboxAdminRoutesOptions {
  deps: Pick<Deps, 'db'>;
}

/**
 * Operations on the outbox for admins. Register it inside the scope that has
 * already authenticated the caller and checked the admin role: this plugin does
 * no auth of its own. Errors are DomainErrors for the app's error handler.
 */
export default async function outboxAdminRoutes(app: FastifyInstance, opts: OutboxAdminRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const security = [{ bearerAuth: [] }];

  api.get(
    '/admin/outbox',
    {
      schema: {
        tags: ['admin'],
        operationId: 'listOutbox',
        summary: 'List outbox messages, newest first (admin)',
        description:
          'Emails and events waiting (`pending`), sent (`delivered`) or given up on (`dead`). ' + 'Keyset pagination: pass `next_cursor` as `cursor`; `null` means the last page.',
        querystring: OutboxQuery,
        response: { 200: OutboxPage, ...problems(401, 403, 422, 429, 503) },
        security,
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      return listOutbox(opts.deps, { status, limit: limit ?? 20, cursor });
    },
  );

  api.post(
    '/admin/outbox/:id/retry',
    {
      schema: {
        tags: ['admin'],
        operationId: 'retryOutboxMessage',
        summary: 'Retry a dead outbox message (admin)',
        description:
          'A `dead` message goes back to `pending` with its attempts reset and is due at once. ' +
          'A `pending` message is returned unchanged (200). A `delivered` one is `409 invalid_transition`; ' +
          'an unknown id is `404 not_found`.',
        params: RetryParams,
        response: { 200: OutboxItem, ...problems(401, 403, 404, 409, 422, 429, 503) },
        security,
      },
    },
    async (request) => retryOutboxMessage(opts.deps, request.params.id),
  );
}
