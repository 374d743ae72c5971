import { Type } from 'typebox';
import { handleMollieWebhook } from '../../../application/mollie-webhook.js';
import { problems } from '../../schemas/common.js';
import type { App, RouteOptions } from '../../types.js';

/**
 * POST /api/webhooks/mollie: Mollie posts a form with the payment's `id` and nothing else — no
 * signature, so the id is only a hint (application/mollie-webhook.ts fetches the payment). Any
 * answer but 2xx makes Mollie call again; an id we do not know, or no id, is answered 200.
 */
export default async function mollieWebhookRoute(app: App, opts: RouteOptions) {
  app.post(
    '/webhooks/mollie',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'receiveMollieWebhook',
        // Unsigned: the id is a hint, and the payment is fetched from Mollie.
        security: [],
        summary: "Mollie's webhook (a payment id; the payment is fetched from Mollie)",
        response: { 200: Type.Object({ received: Type.Boolean(), outcome: Type.String() }), ...problems(413, 503) },
      },
    },
    async (request) => {
      const raw = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
      const id = new URLSearchParams(raw).get('id') ?? '';
      // Mollie's payment ids: `tr_` and letters and digits; anything else was never ours.
      if (!/^tr_[A-Za-z0-9]{1,64}$/.test(id)) return { received: true, outcome: 'ignored' };
      return { received: true, outcome: await handleMollieWebhook(opts.deps, id) };
    },
  );
}
