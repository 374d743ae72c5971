import { Type } from 'typebox';
import { confirmPayment } from '../../../application/confirm-payment.js';
import { problems } from '../../schemas/common.js';
import { Order, OrderParams } from '../../schemas/order.js';
import { actorOf, type App, type RouteOptions } from '../../types.js';

const ConfirmBody = Type.Union([
  Type.Object(
    {
      redirect_result: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 20_000,
          description: "Adyen's `redirectResult` from the return URL; ignored by the other providers",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

export default async function confirmPaymentRoute(app: App, { deps }: RouteOptions) {
  app.post(
    '/orders/:order_id/payment/confirm',
    {
      schema: {
        tags: ['orders'],
        operationId: 'confirmPayment',
        summary: 'The customer is back from the provider: ask it now',
        description:
          'For an order `awaiting_payment`: asks the provider and answers with the order as it then stands — placed, cancelled (the payment failed ' +
          'or expired), or still `awaiting_payment` while the provider says the customer has not finished. Any other order is answered unchanged. ' +
          'The webhook, this route and the reconciler run one step under the order’s lock: an order is placed and captured at most once.',
        params: OrderParams,
        body: ConfirmBody,
        response: { 200: Order, ...problems(400, 401, 403, 404, 415, 422, 429, 503) },
        security: [{ bearerAuth: [] }],
      },
    },
    async (request) =>
      confirmPayment(deps, actorOf(request), request.params.order_id, request.body?.redirect_result ?? null),
  );
}
