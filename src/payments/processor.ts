import type { Config } from '../config.js';
import { errors } from '../domain/errors.js';
import type { ProviderId } from '../domain/payment.js';
import { createPayPalProvider } from './paypal.js';
import type { PaymentProvider } from './provider.js';
import { createSandboxProvider } from './sandbox.js';
import { createSquareProvider } from './square.js';
import { createStripeProvider } from './stripe.js';

/**
 * Chooses the provider for a payment. Adding a provider is one factory in
 * REGISTRY below plus its file; a provider with no configuration stays off.
 */
export interface PaymentProcessor {
  get(provider: string): PaymentProvider;
  enabled(): ProviderId[];
}

type Factory = (config: Config) => PaymentProvider | null;

const REGISTRY: Record<ProviderId, Factory> = {
  sandbox: (c) => (c.sandboxEnabled ? createSandboxProvider() : null),
  stripe: (c) => (c.stripe ? createStripeProvider(c.stripe) : null),
  paypal: (c) => (c.paypal ? createPayPalProvider(c.paypal, { production: c.env === 'production' }) : null),
  square: (c) => (c.square ? createSquareProvider(c.square, { production: c.env === 'production' }) : null),
};

export function createPaymentProcessor(config: Config, overrides: Partial<Record<ProviderId, PaymentProvider>> = {}): PaymentProcessor {
  const providers = new Map<string, PaymentProvider>();
  for (const [id, factory] of Object.entries(REGISTRY) as [ProviderId, Factory][]) {
    const p = overrides[id] ?? factory(config);
    if (p) providers.set(id, p);
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
