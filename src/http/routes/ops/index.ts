import { Type } from 'typebox';
import { checkReadiness } from '../../../application/check-readiness.js';
import type { App, RouteOptions } from '../../types.js';
import { sendProblem } from '../../problem.js';

/** Liveness and readiness, outside /api and without a token, for load balancers and orchestrators. */
export default async function opsRoutes(app: App, { deps }: RouteOptions) {
  const Status = Type.Object({ status: Type.String() });

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'The database answers (503 otherwise)', response: { 200: Status } } }, async (request, reply) => {
    try {
      await checkReadiness(deps);
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return sendProblem(request, reply, 'service_unavailable', 'The database does not answer.');
    }
  });
}
