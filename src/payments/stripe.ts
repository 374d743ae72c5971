import Stripe from 'stripe';
import type { Config } from '../config.js';
import { chargeKey, refundKey } from './idempotency.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type PaymentProvider,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';

/**
 * Stripe through its official SDK: one PaymentIntent created and confirmed in
 * one call, refunds through `refunds.create`. Every POST carries our
 * deterministic Idempotency-Key, so the SDK's own network retries (and ours)
 * replay the first answer instead of charging again.
 */
export type StripeSettings = NonNullable<Config['stripe']>;

export function createStripeClient(settings: StripeSettings, options: ProviderOptions = {}): Stripe {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  const base = settings.apiBase ? new URL(settings.apiBase) : null;
  return new Stripe(settings.secretKey, {
    timeout: timeoutMs,
    maxNetworkRetries: maxRetries,
    telemetry: false,
    // STRIPE_API_BASE points the SDK at another host (a local emulator); unset means api.stripe.com.
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}

export function createStripeProvider(settings: StripeSettings, options: ProviderOptions = {}): PaymentProvider {
  const stripe = createStripeClient(settings, options);
  return {
    id: 'stripe',

    async charge({ transactionId, amount, currency, source, customerId, description, capture }) {
      if (capture === 'manual') throw new PaymentProviderError('stripe: manual capture is not implemented yet');
      const intent = await call(() =>
        stripe.paymentIntents.create(
          {
            amount,
            currency: currency.toLowerCase(),
            payment_method: source,
            confirm: true,
            // Server-side only: no redirect-based methods, and a card that needs 3-D Secure
            // fails now (authentication_required) instead of waiting for a customer who is gone.
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            error_on_requires_action: true,
            description,
            metadata: { transaction_id: transactionId, customer_id: customerId },
          },
          { idempotencyKey: chargeKey(transactionId) },
        ),
      );
      if (intent.status === 'succeeded') return { reference: intent.id, captured: true, authorizationExpiresAt: null };
      const declineCode = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code;
      if (intent.status === 'requires_payment_method' || intent.status === 'canceled') {
        throw new PaymentDeclinedError(intent.last_payment_error?.message ?? 'Your card was declined.', declineCode);
      }
      // processing / requires_action: money may still move; the reconciler asks again later.
      throw new PaymentProviderError(`stripe: payment intent ${intent.id} is ${intent.status}`);
    },

    async refund({ transactionId, refundId, reference, amount }) {
      // Look first: an idempotency key lives 24 hours, a refund retried later must find the
      // refund it already made (tagged with our refund id) instead of making a second one.
      const existing = await call(async () => {
        for await (const r of stripe.refunds.list({ payment_intent: reference, limit: 100 })) {
          if (r.metadata?.refund_id === refundId) return r;
        }
        return null;
      });
      const refund =
        existing ??
        (await call(() =>
          stripe.refunds.create(
            { payment_intent: reference, amount, metadata: { transaction_id: transactionId, refund_id: refundId } },
            { idempotencyKey: refundKey(refundId) },
          ),
        ));
      return refundResult(refund);
    },

    // Manual capture arrives with the next change; until then these refuse rather than guess.
    async capture() {
      throw new PaymentProviderError('stripe: capture is not implemented yet');
    },
    async void() {
      throw new PaymentProviderError('stripe: void is not implemented yet');
    },
    async refunds() {
      throw new PaymentProviderError('stripe: refunds() is not implemented yet');
    },
    async disputes() {
      throw new PaymentProviderError('stripe: disputes() is not implemented yet');
    },

    async retrieve({ transactionId, reference }) {
      const intent = reference
        ? await call(() => stripe.paymentIntents.retrieve(reference)).catch(notFoundAsNull)
        : await findByTransaction(stripe, transactionId);
      return intent ? retrieveResult(intent) : { status: 'not_found' };
    },
  };
}

/**
 * Without a reference (a crash before we stored it) the intent is found by the
 * transaction id we put in its metadata. Search is eventually consistent (under
 * a minute), so the reconciler must only ask about transactions older than that.
 */
async function findByTransaction(stripe: Stripe, transactionId: string): Promise<Stripe.PaymentIntent | null> {
  const result = await call(() =>
    stripe.paymentIntents.search({ query: `metadata['transaction_id']:'${transactionId.replace(/'/g, "\\'")}'`, limit: 10 }),
  );
  return result.data.find((pi) => pi.status === 'succeeded') ?? result.data[0] ?? null;
}

function retrieveResult(intent: Stripe.PaymentIntent): RetrieveResult {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', reference: intent.id };
    case 'requires_payment_method':
    case 'canceled': {
      const declineCode = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code;
      return declineCode ? { status: 'failed', declineCode } : { status: 'failed' };
    }
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Stripe.Refund): RefundResult {
  if (refund.status === 'succeeded') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'failed' || refund.status === 'canceled') {
    throw new RefundFailedError(`stripe: refund ${refund.id} ${refund.status} (${refund.failure_reason ?? 'no reason'})`, refund.id);
  }
  return { status: 'pending', reference: refund.id };
}

function notFoundAsNull(err: unknown): null {
  if (err instanceof PaymentProviderError && err.cause instanceof Stripe.errors.StripeInvalidRequestError && err.cause.code === 'resource_missing') {
    return null;
  }
  throw err;
}

/** Maps the SDK's errors onto ours: card errors are declines, everything else a provider failure. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeCardError) {
      throw new PaymentDeclinedError(err.message, err.decline_code ?? err.code);
    }
    // A PaymentMethod id that does not exist is the customer's bad token, not an outage.
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'resource_missing' && err.param === 'payment_method') {
      throw new PaymentDeclinedError('The payment method does not exist.', 'invalid_source');
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new PaymentProviderError(`stripe: ${message}`, err);
  }
}
