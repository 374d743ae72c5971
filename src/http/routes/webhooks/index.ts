import type { ProviderId } from '../../../domain/payment.js';
import type { WebhookVerifier } from '../../../payments/webhooks/types.js';
import type { App, RouteOptions } from '../../types.js';
import adyenWebhookRoute from './adyen.js';
import mollieWebhookRoute from './mollie.js';
import providerWebhookRoute from './provider-webhook.js';

/**
 * POST /api/webhooks/…: no bearer token; the provider's signature over the exact bytes it sent is
 * the authentication, so the body stays raw in this scope.
 */
export default async function webhookRoutes(
  app: App,
  opts: RouteOptions & {
    verifiers: Partial<Record<ProviderId, WebhookVerifier>>;
    adyenHmacKey: string | null;
    mollie: boolean;
  },
) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Adyen posts batches and wants `[accepted]` back: its own route, ahead of the generic one.
  if (opts.adyenHmacKey) await app.register(adyenWebhookRoute, { deps: opts.deps, hmacKey: opts.adyenHmacKey });
  // Mollie posts a form with only an id, unsigned: its own route, which asks Mollie.
  if (opts.mollie) await app.register(mollieWebhookRoute, { deps: opts.deps });
  await app.register(providerWebhookRoute, { deps: opts.deps, verifiers: opts.verifiers });
}
