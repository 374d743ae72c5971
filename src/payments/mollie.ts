import { MollieApiError, type Chargeback, type Payment, type Refund } from '@mollie/api-client';
import { fromMajorString, toMajorString } from '../domain/money.js';
import { captureKey, chargeKey, refundKey } from './idempotency.js';
import { createMollie, type MollieSettings } from './mollie-client.js';
import type { ProviderOptions } from './options.js';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type PaymentProvider,
  type ProviderDispute,
  type ProviderRefund,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';

/**
 * Mollie's Payments API (v2) through `@mollie/api-client`. Every Mollie payment needs the customer
 * (its hosted checkout, a bank, 3-D Secure), so a charge always answers with an action: the
 * payment's checkout link, and Mollie's `expiresAt` as the provider's expiry. Amounts are Mollie's
 * decimal strings per currency exponent ("10.00", "1500" for JPY, "1.234" for KWD); `webhookUrl`
 * is PUBLIC_BASE_URL/api/webhooks/mollie; `metadata` carries our ids (Mollie keeps them, so a
 * payment, capture or refund asked for again is found again); every POST carries an
 * idempotency key derived from our id.
 *
 * Statuses: `paid` is succeeded; `authorized` (shipment mode, `captureMode: manual`) is authorized
 * until `captureBefore`; `open`/`pending` still wait; `failed`/`canceled`/`expired` fail (a
 * `canceled` payment that had been authorized was released: voided). Refunds move `queued` →
 * `pending` → `processing` → `refunded` (pending for us until `refunded`).
 */
export function createMollieProvider(
  settings: MollieSettings,
  options: ProviderOptions & { webhookUrl?: string } = {},
): PaymentProvider {
  const mollie = createMollie(settings, options);
  const amountOf = (minor: number, currency: string) => ({ currency, value: toMajorString(minor, currency) });
  const minorOf = (amount: { value: string; currency: string }) => fromMajorString(amount.value, amount.currency);

  async function call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PaymentDeclinedError || err instanceof PaymentProviderError) throw err;
      if (err instanceof MollieApiError)
        throw new PaymentProviderError(`mollie: ${err.statusCode ?? 'no status'} ${err.message}`, err);
      throw new PaymentProviderError(`mollie: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }
  const statusOf = (err: unknown) =>
    err instanceof PaymentProviderError && err.cause instanceof MollieApiError ? err.cause.statusCode : undefined;
  const getPayment = (id: string) => call(() => mollie.payments.get(id));

  return {
    id: 'mollie',

    async charge({ transactionId, amount, currency, source, description, capture, returnUrl }) {
      if (!returnUrl)
        throw new PaymentDeclinedError(
          'Every Mollie payment needs the customer; the order needs a return_url.',
          'authentication_required',
        );
      const payment = await call(() =>
        mollie.payments.create({
          amount: amountOf(amount, currency),
          description: description.slice(0, 255),
          redirectUrl: returnUrl,
          ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
          ...(source ? { method: source as never } : {}),
          metadata: { transaction_id: transactionId },
          ...(capture === 'manual' ? { captureMode: 'manual' as never } : {}),
          idempotencyKey: chargeKey(transactionId),
        }),
      );
      return {
        reference: payment.id,
        captured: false,
        authorizationExpiresAt: null,
        action: {
          url: payment.getCheckoutUrl(),
          clientSecret: null,
          providerData: null,
          expiresAt: payment.expiresAt ? new Date(payment.expiresAt) : null,
        },
      };
    },

    async retrieve({ transactionId, reference }) {
      if (reference) {
        const payment = await getPayment(reference).catch((err: unknown) => {
          if (statusOf(err) === 404) return undefined;
          throw err;
        });
        return payment ? outcomeOf(payment) : { status: 'not_found' };
      }
      // No id kept (a crash before it was): the latest payments, matched by our metadata. Reading only.
      const page = await call(() => mollie.payments.page({ limit: 250 }));
      const mine = page.find(
        (p) => (p.metadata as { transaction_id?: unknown } | null)?.transaction_id === transactionId,
      );
      return mine ? outcomeOf(mine) : { status: 'not_found' };
    },

    async cancelAction({ reference }) {
      const payment = await getPayment(reference);
      if (payment.status === 'canceled' || payment.status === 'expired' || payment.status === 'failed')
        return 'cancelled';
      if (!payment.isCancelable) return 'not_cancelled';
      const after = await call(() =>
        mollie.payments.cancel(reference, { idempotencyKey: `cancel-${reference}` } as never),
      ).catch((err: unknown) => {
        if (statusOf(err) === 422) return null; // moved on meanwhile
        throw err;
      });
      return after?.status === 'canceled' ? 'cancelled' : 'not_cancelled';
    },

    async capture({ captureId, reference, amount, currency }) {
      const payment = await getPayment(reference);
      if (payment.status !== 'authorized' && payment.status !== 'paid') throw refusedCapture(payment);
      const captures = await call(() => mollie.paymentCaptures.page({ paymentId: reference }));
      const existing = captures.find((c) => (c.metadata as { capture_id?: unknown } | null)?.capture_id === captureId);
      const made =
        existing ??
        (await call(() =>
          mollie.paymentCaptures.create({
            paymentId: reference,
            amount: amountOf(amount, currency),
            metadata: { capture_id: captureId },
            idempotencyKey: captureKey(captureId),
          } as never),
        ).catch((err: unknown) => {
          if (statusOf(err) === 422)
            throw new PaymentDeclinedError(
              'Mollie refused the capture (more than was authorized, or no longer capturable).',
              'amount_too_large',
            );
          throw err;
        }));
      if (made.status === 'failed') throw new PaymentDeclinedError('Mollie failed the capture.', 'capture_failed');
      return { reference, pending: made.status !== 'succeeded' };
    },

    async void({ reference }) {
      const payment = await getPayment(reference);
      if (payment.status === 'canceled' || payment.status === 'expired') return;
      if (payment.status === 'paid')
        throw new PaymentDeclinedError('The payment was captured; it cannot be released.', 'already_captured');
      if (payment.status !== 'authorized')
        throw new PaymentDeclinedError(
          `The payment is ${payment.status}; it cannot be released.`,
          'payment_not_authorized',
        );
      await call(() => mollie.payments.releaseAuthorization(reference));
      const after = await getPayment(reference);
      // Mollie releases asynchronously: until it says `canceled`, the void row stays pending and is asked again.
      return after.status === 'canceled' ? undefined : { pending: true };
    },

    async refund({ refundId, reference, amount, currency }) {
      const existing = (await listRefunds(reference)).find((r) => refundIdOf(r) === refundId);
      const refund =
        existing ??
        (await call(() =>
          mollie.paymentRefunds.create({
            paymentId: reference,
            amount: amountOf(amount, currency),
            description: `Order refund ${refundId}`.slice(0, 140),
            metadata: { refund_id: refundId },
            idempotencyKey: refundKey(refundId),
          } as never),
        ));
      return refundResult(refund);
    },

    async refunds({ reference }) {
      return (await listRefunds(reference)).map((r): ProviderRefund => ({
        reference: r.id,
        amount: minorOf(r.amount),
        currency: r.amount.currency,
        status: refundStatus(r),
        refundId: refundIdOf(r),
      }));
    },

    async disputes({ reference }) {
      const chargebacks = await call(() => mollie.paymentChargebacks.page({ paymentId: reference }));
      return chargebacks.map((c): ProviderDispute => ({
        reference: c.id,
        amount: minorOf(c.amount),
        currency: c.amount.currency,
        status: chargebackStatus(c),
      }));
    },
  };

  async function listRefunds(paymentId: string): Promise<Refund[]> {
    const page = await call(() => mollie.paymentRefunds.page({ paymentId, limit: 250 }));
    return [...page].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}

function outcomeOf(payment: Payment): RetrieveResult {
  switch (payment.status) {
    case 'paid':
      return { status: 'succeeded', reference: payment.id };
    case 'authorized':
      return {
        status: 'authorized',
        reference: payment.id,
        authorizationExpiresAt: payment.captureBefore ? new Date(payment.captureBefore) : null,
      };
    case 'canceled':
      if (payment.authorizedAt) return { status: 'voided', reference: payment.id, expired: false };
      return { status: 'failed', declineCode: 'canceled' };
    case 'expired':
      if (payment.authorizedAt) return { status: 'voided', reference: payment.id, expired: true };
      return { status: 'failed', declineCode: 'expired' };
    case 'failed':
      return {
        status: 'failed',
        declineCode: (payment.details as { failureReason?: string } | null)?.failureReason ?? 'failed',
      };
    case 'open':
      return { status: 'processing', waitsForCustomer: { reference: payment.id } };
    default:
      return { status: 'processing' };
  }
}

/**
 * Mollie's chargeback has no status: the customer's bank has taken the money back, and Mollie says
 * only two things more about it. `reversedAt`: the chargeback was reversed (the merchant defended it
 * and won, the money came back): `won`. `settlementId` without a reversal: Mollie deducted it from a
 * payout, which it does once the chargeback stands: `lost`. Until either, `open` (docs/payments.md).
 */
function chargebackStatus(c: Chargeback): ProviderDispute['status'] {
  if (c.reversedAt) return 'won';
  return c.settlementId ? 'lost' : 'open';
}

function refusedCapture(payment: Payment): PaymentDeclinedError {
  if (payment.status === 'expired')
    return new PaymentDeclinedError('The authorization expired before it was captured.', 'authorization_expired');
  if (payment.status === 'canceled')
    return new PaymentDeclinedError('The authorization was released.', 'authorization_voided');
  return new PaymentDeclinedError(`The payment is ${payment.status}; it cannot be captured.`, 'payment_not_authorized');
}

const refundIdOf = (r: Refund): string | null => {
  const id = (r.metadata as { refund_id?: unknown } | null | undefined)?.refund_id;
  return typeof id === 'string' ? id : null;
};

function refundStatus(r: Refund): ProviderRefund['status'] {
  if (r.status === 'refunded') return 'succeeded';
  if (r.status === 'failed' || r.status === 'canceled') return 'failed';
  return 'pending'; // queued, pending, processing
}

function refundResult(r: Refund): RefundResult {
  const status = refundStatus(r);
  if (status === 'failed') throw new RefundFailedError(`mollie: refund ${r.id} ${r.status}`, r.id);
  return { status, reference: r.id };
}
