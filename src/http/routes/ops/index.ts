import { Type } from 'typebox';
import { checkReadiness } from '../../../application/check-readiness.js';
import type { App, RouteOptions } from '../../types.js';
import { sendProblem } from '../../problem.js';
import { problems } from '../../schemas/common.js';

/** Liveness and readiness, outside /api and without a token, for load balancers and orchestrators. */
export default async function opsRoutes(app: App, { deps }: RouteOptions) {
  const Status = Type.Object({ status: Type.String() });

  // No token (`security: []`); like every route they can be refused by the HTTP parser (414, 431).
  const common = { tags: ['operations'], security: [] };

  app.get(
    '/healthz',
    {
      schema: {
        ...common,
        operationId: 'getHealth',
        summary: 'The process is up',
        response: { 200: Status, ...problems(414, 431) },
      },
    },
    async () => ({
      status: 'ok',
    }),
  );

  const readiness = {
    ...common,
    operationId: 'getReadiness',
    summary: 'The database answers (503 otherwise)',
    response: { 200: Status, ...problems(414, 431) },
  };
  app.get('/readyz', { schema: readiness }, async (request, reply) => {
    try {
      await checkReadiness(deps);
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return sendProblem(request, reply, 'service_unavailable', 'The database does not answer.');
    }
  });
}
