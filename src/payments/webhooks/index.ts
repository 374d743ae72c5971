import type { Config } from '../../config.js';
import type { ProviderId } from '../../domain/payment.js';
import type { ProviderOptions } from '../options.js';
import type { WebhookVerifier } from './types.js';

export { InvalidSignatureError, type WebhookVerifier } from './types.js';

/**
 * One verifier per provider whose webhook configuration is complete: Stripe
 * needs STRIPE_WEBHOOK_SECRET; Square SQUARE_WEBHOOK_SIGNATURE_KEY and
 * SQUARE_WEBHOOK_URL; PayPal PAYPAL_WEBHOOK_ID (and its client credentials).
 * A provider missing here has no webhook endpoint.
 *
 * A verifier throws InvalidSignatureError when the delivery is not authentic,
 * and PaymentProviderError when it could not ask (PayPal's endpoint down):
 * the second is our failure, worth a 5xx so that the provider delivers again.
 * Like the providers (processor.ts), each SDK is loaded only when its webhook is configured.
 */
export async function createWebhookVerifiers(
  config: Config,
  options: ProviderOptions = {},
): Promise<Partial<Record<ProviderId, WebhookVerifier>>> {
  const verifiers: Partial<Record<ProviderId, WebhookVerifier>> = {};
  const { stripe, square, paypal } = config;
  if (stripe?.webhookSecret) {
    const { verifyStripeWebhook } = await import('./stripe.js');
    const settings = { webhookSecret: stripe.webhookSecret };
    verifiers.stripe = (body, headers) => verifyStripeWebhook(body, headers, settings);
  }
  if (square?.webhookSignatureKey && square.webhookUrl) {
    const { verifySquareWebhook } = await import('./square.js');
    const settings = { webhookSignatureKey: square.webhookSignatureKey, webhookUrl: square.webhookUrl };
    verifiers.square = (body, headers) => verifySquareWebhook(body, headers, settings);
  }
  if (paypal?.webhookId) {
    const [{ createPayPalClient }, { verifyPayPalWebhook }] = await Promise.all([
      import('../paypal-client.js'),
      import('./paypal.js'),
    ]);
    const client = createPayPalClient(paypal, { production: config.env === 'production', ...options });
    const settings = { webhookId: paypal.webhookId };
    verifiers.paypal = (body, headers) => verifyPayPalWebhook(body, headers, client, settings);
  }
  return verifiers;
}
