import { AdyenEmulator } from './adyen-emulator.js';
import { MollieEmulator } from './mollie-emulator.js';
import { PayPalEmulator } from './paypal-emulator.js';
import { SquareEmulator } from './square-emulator.js';
import { StripeEmulator } from './stripe-emulator.js';
import { trustThrowAwayCa } from './tls.js';

/**
 * All three provider emulators on 127.0.0.1, and the environment that points
 * the service at them (merge `env` into what `loadConfig` reads). For tests
 * only: src never imports this.
 *
 * Payment sources that succeed: Stripe `pm_card_visa`; Square
 * `cnon:card-nonce-ok`; PayPal `paypal.approvedOrder(total, currency)` (an
 * order the buyer approved for exactly that amount). Declines: Stripe
 * `pm_card_chargeDeclined`, Square `cnon:card-nonce-declined`, PayPal
 * `paypal.approvedOrder(total, currency, { decline: true })`.
 * Manual capture: the same Stripe and Square sources, PayPal
 * `paypal.approvedOrder(total, currency, { intent: 'AUTHORIZE' })`; each
 * emulator's `expireAuthorization(reference)` lets an authorization lapse.
 * Webhooks: `stripe.webhook(type, object)`, `square.webhook(type, object)`,
 * `paypal.webhook(eventType, resource)` return `{ body, headers, id }` signed
 * for the `env` below. Money moved at the provider, not through the API, comes
 * with the webhooks it sends: `dashboardRefund`, `updateRefund` (Stripe,
 * Square), `openDispute`, `settleDispute` on each emulator.
 */
export interface Emulators {
  stripe: StripeEmulator;
  square: SquareEmulator;
  paypal: PayPalEmulator;
  adyen: AdyenEmulator;
  mollie: MollieEmulator;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startEmulators(): Promise<Emulators> {
  const [stripe, square, paypal, adyen, mollie] = await Promise.all([
    new StripeEmulator().start(),
    new SquareEmulator().start(),
    new PayPalEmulator().start(),
    new AdyenEmulator().start(),
    new MollieEmulator().start(),
  ]);
  trustThrowAwayCa();
  const env = {
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
    SQUARE_ACCESS_TOKEN: square.accessToken,
    SQUARE_LOCATION_ID: square.locationId,
    SQUARE_API_BASE: square.url,
    SQUARE_WEBHOOK_SIGNATURE_KEY: square.webhookSignatureKey,
    SQUARE_WEBHOOK_URL: square.webhookUrl,
    PAYPAL_CLIENT_ID: paypal.clientId,
    PAYPAL_CLIENT_SECRET: paypal.clientSecret,
    PAYPAL_API_BASE: paypal.url,
    PAYPAL_WEBHOOK_ID: paypal.webhookId,
    ADYEN_API_KEY: adyen.apiKey,
    ADYEN_MERCHANT_ACCOUNT: adyen.merchantAccount,
    ADYEN_HMAC_KEY: adyen.hmacKey,
    ADYEN_API_BASE: adyen.url,
    MOLLIE_API_KEY: mollie.apiKey,
    MOLLIE_API_BASE: mollie.settings().apiBase!,
  };
  return {
    stripe,
    square,
    paypal,
    adyen,
    mollie,
    env,
    close: async () => {
      await Promise.all([stripe.close(), square.close(), paypal.close(), adyen.close(), mollie.close()]);
    },
  };
}
