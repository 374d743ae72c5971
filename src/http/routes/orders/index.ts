import type { App, RouteOptions } from '../../types.js';
import cancelOrderRoute from './cancel-order.js';
import confirmPaymentRoute from './confirm-payment.js';
import createOrderRoute from './create-order.js';
import getHistoryRoute from './get-history.js';
import getOrderRoute from './get-order.js';
import getPaymentsRoute from './get-payments.js';
import listOrdersRoute from './list-orders.js';
import updateStatusRoute from './update-status.js';

/** Every order route needs a valid bearer token; the scope's hook checks it once. */
export default async function orderRoutes(app: App, opts: RouteOptions) {
  app.addHook('onRequest', app.authenticate);
  await app.register(createOrderRoute, opts);
  await app.register(listOrdersRoute, opts);
  await app.register(getOrderRoute, opts);
  await app.register(cancelOrderRoute, opts);
  await app.register(confirmPaymentRoute, opts);
  await app.register(updateStatusRoute, opts);
  await app.register(getHistoryRoute, opts);
  await app.register(getPaymentsRoute, opts);
}
