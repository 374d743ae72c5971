import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { retryOutboxMessage } from '../../../application/retry-outbox-message.js';
import { problems } from '../../schemas/common.js';
import { OutboxItem, RetryParams } from '../../schemas/outbox.js';
import type { OutboxAdminRoutesOptions } from './outbox.js';

export default async function retryOutboxMessageRoute(
  app: FastifyInstance,
  opts: OutboxAdminRoutesOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
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
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => retryOutboxMessage(opts.deps, request.params.id),
  );
}
