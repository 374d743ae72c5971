import type { Config } from '../config.js';
import { errors } from '../domain/errors.js';
import type { ProviderId } from '../domain/payment.js';
import type { PaymentProvider } from './provider.js';
import { createSandboxProvider } from './sandbox.js';
import { traceProvider } from './traced-provider.js';

/**
 * Chooses the provider for a payment. Adding a provider is one factory in
 * REGISTRY below plus its file; a provider with no configuration stays off.
 */
export interface PaymentProcessor {
  get(provider: string): PaymentProvider;
  enabled(): ProviderId[];
}

type Factory = (config: Config) => Promise<PaymentProvider | null>;

/**
 * A provider's SDK is loaded only when the provider is configured: the three SDKs are about 150 MB
 * of resident memory together (Square's alone ~85 MB), which an instance using one provider, or the
 * sandbox, should not carry.
 */
const REGISTRY: Record<ProviderId, Factory> = {
  sandbox: async (c) => (c.sandboxEnabled ? createSandboxProvider({ publicBaseUrl: c.publicBaseUrl }) : null),
  stripe: async (c) => (c.stripe ? (await import('./stripe.js')).createStripeProvider(c.stripe) : null),
  paypal: async (c) =>
    c.paypal
      ? (await import('./paypal.js')).createPayPalProvider(c.paypal, { production: c.env === 'production' })
      : null,
  square: async (c) =>
    c.square
      ? (await import('./square.js')).createSquareProvider(c.square, { production: c.env === 'production' })
      : null,
  adyen: async (c) =>
    c.adyen ? (await import('./adyen.js')).createAdyenProvider(c.adyen, { returnUrl: `${c.publicBaseUrl}/` }) : null,
  mollie: async (c) =>
    c.mollie
      ? (await import('./mollie.js')).createMollieProvider(c.mollie, {
          webhookUrl: `${c.publicBaseUrl}/api/webhooks/mollie`,
        })
      : null,
};

export async function createPaymentProcessor(
  config: Config,
  overrides: Partial<Record<ProviderId, PaymentProvider>> = {},
): Promise<PaymentProcessor> {
  const providers = new Map<string, PaymentProvider>();
  for (const [id, factory] of Object.entries(REGISTRY) as [ProviderId, Factory][]) {
    const p = overrides[id] ?? (await factory(config));
    if (p) providers.set(id, traceProvider(p));
  }
  return {
    get(provider) {
      const p = providers.get(provider);
      if (!p) throw errors.providerNotEnabled(provider);
      return p;
    },
    enabled: () => [...providers.keys()] as ProviderId[],
  };
}
