import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../../application/deps.js';
import listOutboxRoute from './list-outbox.js';
import retryOutboxMessageRoute from './retry-outbox-message.js';

export interface OutboxAdminRoutesOptions {
  deps: Pick<Deps, 'db'>;
}

/**
 * Operations on the outbox for admins. Register it inside the scope that has
 * already authenticated the caller and checked the admin role: this plugin does
 * no auth of its own. Errors are DomainErrors for the app's error handler.
 */
export default async function outboxAdminRoutes(app: FastifyInstance, opts: OutboxAdminRoutesOptions): Promise<void> {
  await app.register(listOutboxRoute, opts);
  await app.register(retryOutboxMessageRoute, opts);
}
