import type { App, RouteOptions } from '../../types.js';
import healthRoute from './healthz.js';
import readinessRoute from './readyz.js';

/** Liveness and readiness, outside /api and without a token, for load balancers and orchestrators. */
export default async function opsRoutes(app: App, opts: RouteOptions) {
  await app.register(healthRoute, opts);
  await app.register(readinessRoute, opts);
}
