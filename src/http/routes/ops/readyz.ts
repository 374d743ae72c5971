import { checkReadiness } from '../../../application/check-readiness.js';
import { sendProblem } from '../../problem.js';
import { problems } from '../../schemas/common.js';
import type { App, RouteOptions } from '../../types.js';
import { OPERATIONS, Status } from '../../schemas/ops.js';

/** GET /readyz: the database answers, or 503 so the balancer sends traffic elsewhere. */
export default async function readinessRoute(app: App, { deps }: RouteOptions) {
  app.get(
    '/readyz',
    {
      schema: {
        ...OPERATIONS,
        operationId: 'getReadiness',
        summary: 'The database answers (503 otherwise)',
        response: { 200: Status, ...problems(414, 431) },
      },
    },
    async (request, reply) => {
      try {
        await checkReadiness(deps);
        return { status: 'ready' };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return sendProblem(request, reply, 'service_unavailable', 'The database does not answer.');
      }
    },
  );
}
