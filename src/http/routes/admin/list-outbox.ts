import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { listOutbox } from '../../../application/list-outbox.js';
import { problems } from '../../schemas/common.js';
import { OutboxPage, OutboxQuery } from '../../schemas/outbox.js';
import type { OutboxAdminRoutesOptions } from './outbox.js';

export default async function listOutboxRoute(app: FastifyInstance, opts: OutboxAdminRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/admin/outbox',
    {
      schema: {
        tags: ['admin'],
        operationId: 'listOutbox',
        summary: 'List outbox messages, newest first (admin)',
        description:
          'Emails and events waiting (`pending`), sent (`delivered`) or given up on (`dead`). ' +
          'Keyset pagination: pass `next_cursor` as `cursor`; `null` means the last page.',
        querystring: OutboxQuery,
        response: { 200: OutboxPage, ...problems(401, 403, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      return listOutbox(opts.deps, { status, limit: limit ?? 20, cursor });
    },
  );
}
