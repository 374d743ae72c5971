import { problems } from '../../schemas/common.js';
import type { App } from '../../types.js';
import { OPERATIONS, Status } from '../../schemas/ops.js';

/** GET /healthz: the process is up (it answers); nothing else is asked. */
export default async function healthRoute(app: App) {
  app.get(
    '/healthz',
    {
      schema: {
        ...OPERATIONS,
        operationId: 'getHealth',
        summary: 'The process is up',
        response: { 200: Status, ...problems(414, 431) },
      },
    },
    async () => ({ status: 'ok' }),
  );
}
