import { Type } from 'typebox';
import { handleWebhook, type WebhookEvent } from '../../../application/handle-webhook.js';
import { DomainError } from '../../../domain/errors.js';
import { PROVIDERS, type ProviderId } from '../../../domain/payment.js';
import { InvalidSignatureError, type WebhookVerifier } from '../../../payments/webhooks/types.js';
import { problems } from '../../schemas/common.js';
import type { App, RouteOptions } from '../../types.js';

/**
 * POST /api/webhooks/{provider}: Stripe's, PayPal's and Square's events. No bearer token: the
 * provider's signature over the exact bytes it sent is the authentication (the body stays raw,
 * index.ts), and the event is only a hint the use case checks with the provider.
 */
export default async function providerWebhookRoute(
  app: App,
  opts: RouteOptions & { verifiers: Partial<Record<ProviderId, WebhookVerifier>> },
) {
  app.post(
    '/webhooks/:provider',
    {
      // A provider name we do not know is "nothing there", like one without webhook settings: 404, not 422.
      attachValidation: true,
      schema: {
        tags: ['webhooks'],
        operationId: 'receiveWebhook',
        // The provider's signature over the body is the authentication, not a bearer token.
        security: [],
        summary: "A payment provider's event (signature-verified, deduplicated)",
        params: Type.Object({ provider: Type.Enum([...PROVIDERS]) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ received: Type.Boolean(), outcome: Type.String() }),
          ...problems(400, 404, 413, 503),
        },
      },
    },
    async (request) => {
      if (request.validationError)
        throw new DomainError('not_found', 'There is no webhook endpoint for this provider.');
      const verify = opts.verifiers[request.params.provider];
      if (!verify) throw new DomainError('not_found', `Webhooks for ${request.params.provider} are not configured.`);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let event: WebhookEvent;
      try {
        event = await verify(raw, request.headers);
      } catch (err) {
        if (err instanceof InvalidSignatureError) {
          request.log.warn({ err, provider: request.params.provider }, 'webhook rejected');
          throw new DomainError('invalid_signature', 'The webhook signature does not verify.');
        }
        // Verification itself failed (PayPal's endpoint down): a 5xx makes the provider deliver again.
        request.log.error({ err, provider: request.params.provider }, 'webhook verification unavailable');
        throw new DomainError(
          'service_unavailable',
          'The webhook could not be verified right now; deliver it again later.',
        );
      }
      const outcome = await handleWebhook(opts.deps, request.params.provider, event);
      return { received: true, outcome };
    },
  );
}
