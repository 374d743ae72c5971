import type { App, RouteOptions } from '../../types.js';
import refundOrderRoute from './refund-order.js';

/** Support's refunds by hand (admin); every route needs a valid bearer token. */
export default async function refundRoutes(app: App, opts: RouteOptions) {
  app.addHook('onRequest', app.authenticate);
  await app.register(refundOrderRoute, opts);
}
