import type { App, RouteOptions } from '../../types.js';
import listReturnsRoute from './list-returns.js';
import receiveReturnRoute from './receive-return.js';
import rejectReturnRoute from './reject-return.js';
import requestReturnRoute from './request-return.js';

/** Returns of delivered orders; every route needs a valid bearer token. */
export default async function returnRoutes(app: App, opts: RouteOptions) {
  app.addHook('onRequest', app.authenticate);
  await app.register(requestReturnRoute, opts);
  await app.register(listReturnsRoute, opts);
  await app.register(receiveReturnRoute, opts);
  await app.register(rejectReturnRoute, opts);
}
