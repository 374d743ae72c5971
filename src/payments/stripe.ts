import Stripe from 'stripe';
import type { Config } from '../config.js';
import { cancelKey, captureKey, chargeKey, refundKey, voidKey } from './idempotency.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type ChargeResult,
  type PaymentProvider,
  type ProviderDispute,
  type ProviderRefund,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';

/**
 * Stripe through its official SDK: one PaymentIntent created and confirmed in
 * one call (`capture_method: manual` to authorize only, then
 * `paymentIntents.capture` with `amount_to_capture`, or `cancel`), refunds
 * through `refunds.create`. Every POST carries our deterministic
 * Idempotency-Key, so the SDK's own network retries (and ours) replay the first
 * answer instead of moving money again.
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

    async charge({ transactionId, amount, currency, source, customerId, description, capture, returnUrl }) {
      const manual = capture === 'manual';
      const intent = await call(() =>
        stripe.paymentIntents.create(
          {
            amount,
            currency: currency.toLowerCase(),
            payment_method: source,
            confirm: true,
            // With a return URL the customer can authenticate (3-D Secure) or be redirected, and the
            // intent waits for them (`requires_action`). Without one it is server-side only: no
            // redirect-based methods, and a card that needs 3-D Secure fails now
            // (authentication_required) instead of waiting for a customer who is gone.
            ...(returnUrl
              ? { return_url: returnUrl, automatic_payment_methods: { enabled: true } }
              : {
                  automatic_payment_methods: { enabled: true, allow_redirects: 'never' as const },
                  error_on_requires_action: true,
                }),
            description,
            metadata: { transaction_id: transactionId, customer_id: customerId },
            // The charge carries `capture_before`, when the authorization lapses.
            ...(manual && { capture_method: 'manual', expand: ['latest_charge'] }),
          },
          { idempotencyKey: chargeKey(transactionId) },
        ),
      );
      if (intent.status === 'succeeded') return { reference: intent.id, captured: true, authorizationExpiresAt: null };
      if (intent.status === 'requires_capture' && manual) return authorization(intent);
      if (intent.status === 'requires_action' && returnUrl) return awaitingCustomer(intent);
      const declineCode = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code;
      if (intent.status === 'requires_payment_method' || intent.status === 'canceled') {
        throw new PaymentDeclinedError(intent.last_payment_error?.message ?? 'Your card was declined.', declineCode);
      }
      // processing / requires_action: money may still move; the reconciler asks again later.
      throw new PaymentProviderError(`stripe: payment intent ${intent.id} is ${intent.status}`);
    },

    async completeAction({ reference }) {
      // Nothing to finish at Stripe: the customer's authentication confirms the intent itself.
      const intent = await call(() => stripe.paymentIntents.retrieve(reference, { expand: ['latest_charge'] }));
      return retrieveResult(intent);
    },

    async cancelAction({ transactionId, reference }) {
      try {
        await call(() =>
          stripe.paymentIntents.cancel(
            reference,
            { cancellation_reason: 'abandoned' },
            { idempotencyKey: cancelKey(transactionId) },
          ),
        );
        return 'cancelled';
      } catch (err) {
        if (stripeCode(err) !== 'payment_intent_unexpected_state') throw err;
        // Canceled already (by us, or by Stripe), or it completed: the caller asks again.
        const intent = await call(() => stripe.paymentIntents.retrieve(reference));
        return intent.status === 'canceled' ? 'cancelled' : 'not_cancelled';
      }
    },

    async capture({ transactionId, captureId, reference, amount }) {
      try {
        const intent = await call(() =>
          stripe.paymentIntents.capture(
            reference,
            { amount_to_capture: amount, metadata: { capture_id: captureId, transaction_id: transactionId } },
            { idempotencyKey: captureKey(captureId) },
          ),
        );
        if (intent.status !== 'succeeded')
          throw new PaymentProviderError(`stripe: payment intent ${intent.id} is ${intent.status} after capture`);
        return { reference: intent.id };
      } catch (err) {
        const code = stripeCode(err);
        if (code === 'amount_too_large' || stripeParam(err) === 'amount_to_capture')
          throw new PaymentDeclinedError('The capture is more than was authorized.', 'amount_too_large');
        if (code !== 'payment_intent_unexpected_state') throw err;
        // Not capturable any more: captured (by this very capture, its key forgotten, when the intent
        // carries our capture id), or released.
        const intent = await call(() => stripe.paymentIntents.retrieve(reference));
        if (intent.status === 'succeeded' && intent.metadata?.capture_id === captureId) return { reference: intent.id };
        if (intent.status === 'succeeded')
          throw new PaymentDeclinedError('The payment was already captured.', 'already_captured');
        if (intent.status === 'canceled') {
          throw expiredCancel(intent)
            ? new PaymentDeclinedError('The authorization expired before it was captured.', 'authorization_expired')
            : new PaymentDeclinedError('The authorization was voided.', 'authorization_voided');
        }
        throw new PaymentDeclinedError(
          `The payment is ${intent.status}; it cannot be captured.`,
          'payment_intent_unexpected_state',
        );
      }
    },

    async void({ voidId, reference }) {
      try {
        await call(() =>
          stripe.paymentIntents.cancel(
            reference,
            { cancellation_reason: 'requested_by_customer' },
            { idempotencyKey: voidKey(voidId) },
          ),
        );
      } catch (err) {
        if (stripeCode(err) !== 'payment_intent_unexpected_state') throw err;
        const intent = await call(() => stripe.paymentIntents.retrieve(reference));
        if (intent.status === 'canceled') return; // released already: by us earlier, or by expiry
        throw new PaymentDeclinedError(
          `The payment is ${intent.status}; it cannot be voided.`,
          intent.status === 'succeeded' ? 'already_captured' : 'payment_intent_unexpected_state',
        );
      }
    },

    async refunds({ reference }) {
      return call(async () => {
        const found: ProviderRefund[] = [];
        for await (const r of stripe.refunds.list({ payment_intent: reference, limit: 100 }))
          found.push(providerRefund(r));
        return found.reverse(); // Stripe lists newest first
      });
    },

    async disputes({ reference }) {
      return call(async () => {
        const found: ProviderDispute[] = [];
        for await (const d of stripe.disputes.list({ payment_intent: reference, limit: 100 })) {
          found.push({
            reference: d.id,
            amount: d.amount,
            currency: d.currency.toUpperCase(),
            status: disputeStatus(d.status),
          });
        }
        return found.reverse();
      });
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

    async retrieve({ transactionId, reference }) {
      const intent = reference
        ? await call(() => stripe.paymentIntents.retrieve(reference, { expand: ['latest_charge'] })).catch(
            notFoundAsNull,
          )
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
    stripe.paymentIntents.search({
      query: `metadata['transaction_id']:'${transactionId.replace(/'/g, "\\'")}'`,
      limit: 10,
    }),
  );
  const best =
    result.data.find((pi) => pi.status === 'succeeded') ??
    result.data.find((pi) => pi.status === 'requires_capture') ??
    result.data[0];
  // Search results never expand: fetch the charge for its `capture_before`.
  if (best?.status === 'requires_capture')
    return call(() => stripe.paymentIntents.retrieve(best.id, { expand: ['latest_charge'] }));
  return best ?? null;
}

/** An uncaptured intent: its reference and when the card network lets the authorization go. */
function authorization(intent: Stripe.PaymentIntent): ChargeResult {
  const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
  const before = charge?.payment_method_details?.card?.capture_before;
  return { reference: intent.id, captured: false, authorizationExpiresAt: before ? new Date(before * 1000) : null };
}

/**
 * An intent that waits for its customer: 3-D Secure (or a redirect method) at
 * `next_action.redirect_to_url.url`, or in the browser with Stripe.js and the client secret. Any
 * other kind of next action is handed on as it is.
 */
function awaitingCustomer(intent: Stripe.PaymentIntent): ChargeResult {
  const next = intent.next_action;
  return {
    reference: intent.id,
    captured: false,
    authorizationExpiresAt: null,
    action: {
      url: next?.redirect_to_url?.url ?? null,
      clientSecret: intent.client_secret,
      providerData:
        next && next.type !== 'redirect_to_url' ? { next_action: next as unknown as Record<string, unknown> } : null,
      expiresAt: null,
    },
  };
}

/** Stripe cancels an uncaptured intent itself when its authorization lapses. */
function expiredCancel(intent: Stripe.PaymentIntent): boolean {
  return intent.cancellation_reason === 'automatic' || intent.cancellation_reason === 'expired';
}

function disputeStatus(status: Stripe.Dispute.Status): ProviderDispute['status'] {
  if (status === 'lost') return 'lost';
  // An inquiry closed without a chargeback, or one prevented, costs nothing: the merchant keeps the money.
  if (status === 'won' || status === 'warning_closed' || status === 'prevented') return 'won';
  return 'open';
}

function providerRefund(r: Stripe.Refund): ProviderRefund {
  const status =
    r.status === 'succeeded' ? 'succeeded' : r.status === 'failed' || r.status === 'canceled' ? 'failed' : 'pending';
  return {
    reference: r.id,
    amount: r.amount,
    currency: r.currency.toUpperCase(),
    status,
    refundId: r.metadata?.refund_id ?? null,
  };
}

function stripeCode(err: unknown): string | undefined {
  return err instanceof PaymentProviderError && err.cause instanceof Stripe.errors.StripeError
    ? err.cause.code
    : undefined;
}

function stripeParam(err: unknown): string | undefined {
  return err instanceof PaymentProviderError && err.cause instanceof Stripe.errors.StripeError
    ? err.cause.param
    : undefined;
}

function retrieveResult(intent: Stripe.PaymentIntent): RetrieveResult {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', reference: intent.id };
    case 'requires_capture': {
      const { reference, authorizationExpiresAt } = authorization(intent);
      return { status: 'authorized', reference, authorizationExpiresAt };
    }
    case 'canceled':
      // An authorization we released, or one that lapsed; a charge that never succeeded is a failure.
      if (intent.capture_method === 'manual' && !intent.last_payment_error)
        return { status: 'voided', reference: intent.id, expired: expiredCancel(intent) };
    // falls through
    case 'requires_payment_method': {
      const declineCode = intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code;
      return declineCode ? { status: 'failed', declineCode } : { status: 'failed' };
    }
    case 'requires_action':
      return { status: 'processing', waitsForCustomer: { reference: intent.id } };
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Stripe.Refund): RefundResult {
  if (refund.status === 'succeeded') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'failed' || refund.status === 'canceled') {
    throw new RefundFailedError(
      `stripe: refund ${refund.id} ${refund.status} (${refund.failure_reason ?? 'no reason'})`,
      refund.id,
    );
  }
  return { status: 'pending', reference: refund.id };
}

function notFoundAsNull(err: unknown): null {
  if (
    err instanceof PaymentProviderError &&
    err.cause instanceof Stripe.errors.StripeInvalidRequestError &&
    err.cause.code === 'resource_missing'
  ) {
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
    if (
      err instanceof Stripe.errors.StripeInvalidRequestError &&
      err.code === 'resource_missing' &&
      err.param === 'payment_method'
    ) {
      throw new PaymentDeclinedError('The payment method does not exist.', 'invalid_source');
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new PaymentProviderError(`stripe: ${message}`, err);
  }
}
