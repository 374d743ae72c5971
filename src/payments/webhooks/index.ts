import type { Config } from '../../config.js';
import type { ProviderId } from '../../domain/payment.js';
import type { ProviderOptions } from '../options.js';
import { createPayPalClient } from '../paypal-client.js';
import { verifyPayPalWebhook } from './paypal.js';
import { verifySquareWebhook } from './square.js';
import { verifyStripeWebhook } from './stripe.js';
import type { WebhookVerifier } from './types.js';

export { InvalidSignatureError, type VerifiedWebhookEvent, type WebhookEventType, type WebhookHeaders, type WebhookVerifier } from './types.js';

/**
 * One verifier per provider whose webhook configuration is complete: Stripe
 * needs STRIPE_WEBHOOK_SECRET; Square SQUARE_WEBHOOK_SIGNATURE_KEY and
 * SQUARE_WEBHOOK_URL; PayPal PAYPAL_WEBHOOK_ID (and its client credentials).
 * A provider missing here has no webhook endpoint.
 *
 * A verifier throws InvalidSignatureError when the delivery is not authentic,
 * and PaymentProviderError when it could not ask (PayPal's endpoint down):
 * the second is our failure, worth a 5xx so that the provider delivers again.
 */
export function createWebhookVerifiers(config: Config, options: ProviderOptions = {}): Partial<Record<ProviderId, WebhookVerifier>> {
  const verifiers: Partial<Record<ProviderId, WebhookVerifier>> = {};
  const { stripe, square, paypal } = config;
  if (stripe?.webhookSecret) {
    const settings = { webhookSecret: stripe.webhookSecret };
    verifiers.stripe = (body, headers) => verifyStripeWebhook(body, headers, settings);
  }
  if (square?.webhookSignatureKey && square.webhookUrl) {
    const settings = { webhookSignatureKey: square.webhookSignatureKey, webhookUrl: square.webhookUrl };
    verifiers.square = (body, headers) => verifySquareWebhook(body, headers, settings);
  }
  if (paypal?.webhookId) {
    const client = createPayPalClient(paypal, { production: config.env === 'production', ...options });
    const settings = { webhookId: paypal.webhookId };
    verifiers.paypal = (body, headers) => verifyPayPalWebhook(body, headers, client, settings);
  }
  return verifiers;
}
