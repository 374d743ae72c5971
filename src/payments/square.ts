import { SquareClient, SquareEnvironment, type Square } from 'square';
import type { Config } from '../config.js';
import { chargeKey, refundKey } from './idempotency.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';
import { PaymentDeclinedError, PaymentProviderError, RefundFailedError, type PaymentProvider, type RefundResult, type RetrieveResult } from './provider.js';
import { isNotFound, squareCall, throwIfErrors } from './square-errors.js';

/**
 * Square through its official SDK: `payments.create` with the buyer's source
 * id, `refunds.refundPayment`. Amounts are BigInt in this SDK (integers on the
 * wire). Every create carries our deterministic idempotency_key (Square caps it
 * at 45 characters), and the payment carries `reference_id` = our transaction
 * id, which is how a payment is found again when we never learnt its id.
 */
export type SquareSettings = NonNullable<Config['square']>;

const KEY_LIMIT = 45;

export function createSquareClient(settings: SquareSettings, options: ProviderOptions = {}): SquareClient {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  return new SquareClient({
    token: settings.accessToken,
    baseUrl: settings.apiBase ?? (options.production ? SquareEnvironment.Production : SquareEnvironment.Sandbox),
    timeoutInSeconds: timeoutMs / 1000,
    // The SDK retries 408/429/5xx only (not timeouts), with its own backoff.
    maxRetries,
  });
}

export function createSquareProvider(settings: SquareSettings, options: ProviderOptions = {}): PaymentProvider {
  const square = createSquareClient(settings, options);
  const money = (amount: number, currency: string): Square.Money => ({ amount: BigInt(amount), currency: currency as Square.Currency });

  return {
    id: 'square',

    async charge({ transactionId, amount, currency, source, description, capture }) {
      if (capture === 'manual') throw new PaymentProviderError('square: manual capture is not implemented yet');
      const res = await squareCall(() =>
        square.payments.create({
          idempotencyKey: chargeKey(transactionId, KEY_LIMIT),
          sourceId: source,
          amountMoney: money(amount, currency),
          locationId: settings.locationId,
          referenceId: transactionId,
          autocomplete: true,
          note: description.slice(0, 500),
        }),
      );
      throwIfErrors(res.errors); // a 200 that carries `errors` is a failure, not a payment
      const payment = res.payment;
      if (!payment?.id) throw new PaymentProviderError('square: create payment answered without a payment');
      if (payment.status === 'COMPLETED') return { reference: payment.id, captured: true, authorizationExpiresAt: null };
      if (payment.status === 'FAILED' || payment.status === 'CANCELED') {
        throw new PaymentDeclinedError('Your card was declined.', cardErrorCode(payment) ?? 'generic_decline');
      }
      // APPROVED / PENDING: money may still move; the reconciler asks again later.
      throw new PaymentProviderError(`square: payment ${payment.id} is ${payment.status ?? 'unknown'}`);
    },

    async refund({ refundId, reference, amount, currency }) {
      // Square keeps no field of ours on a refund, so the reason carries our refund id: a refund
      // asked for again (even after the idempotency key is forgotten) finds the one already made.
      const reason = `Order refund ${refundId}`;
      const existing = await findRefund(square, reference, reason);
      const refund =
        existing ??
        (await squareCall(async () => {
          const res = await square.refunds.refundPayment({
            idempotencyKey: refundKey(refundId, KEY_LIMIT),
            paymentId: reference,
            amountMoney: money(amount, currency),
            reason,
          });
          throwIfErrors(res.errors);
          return res.refund;
        }));
      if (!refund) throw new PaymentProviderError('square: refund answered without a refund');
      return refundResult(refund);
    },

    // Manual capture arrives with the next change; until then these refuse rather than guess.
    async capture() {
      throw new PaymentProviderError('square: capture is not implemented yet');
    },
    async void() {
      throw new PaymentProviderError('square: void is not implemented yet');
    },
    async refunds() {
      throw new PaymentProviderError('square: refunds() is not implemented yet');
    },
    async disputes() {
      throw new PaymentProviderError('square: disputes() is not implemented yet');
    },

    async retrieve({ transactionId, reference, amount }) {
      if (reference) {
        const payment = await squareCall(async () => (await square.payments.get({ paymentId: reference })).payment).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return payment ? retrieveResult(payment) : { status: 'not_found' };
      }
      // No id: list this location's payments of exactly this total and match our reference_id.
      // Listing only reads, so asking can never charge.
      const matches = await squareCall(async () => {
        const found: Square.Payment[] = [];
        const page = await square.payments.list({ locationId: settings.locationId, total: BigInt(amount), sortOrder: 'DESC', limit: 100 });
        for await (const p of page) if (p.referenceId === transactionId) found.push(p);
        return found;
      });
      const best = matches.find((p) => p.status === 'COMPLETED') ?? matches.find((p) => p.status === 'APPROVED' || p.status === 'PENDING') ?? matches[0];
      return best ? retrieveResult(best) : { status: 'not_found' };
    },
  };
}

async function findRefund(square: SquareClient, paymentId: string, reason: string): Promise<Square.PaymentRefund | undefined> {
  return squareCall(async () => {
    const { payment } = await square.payments.get({ paymentId });
    for (const refundId of payment?.refundIds ?? []) {
      const { refund } = await square.refunds.get({ refundId });
      if (refund?.reason === reason) return refund;
    }
    return undefined;
  });
}

function retrieveResult(payment: Square.Payment): RetrieveResult {
  switch (payment.status) {
    case 'COMPLETED':
      return { status: 'succeeded', reference: payment.id! };
    case 'FAILED':
    case 'CANCELED': {
      const declineCode = cardErrorCode(payment);
      return declineCode ? { status: 'failed', declineCode } : { status: 'failed' };
    }
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Square.PaymentRefund): RefundResult {
  if (refund.status === 'COMPLETED') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'REJECTED' || refund.status === 'FAILED') {
    throw new RefundFailedError(`square: refund ${refund.id} ${refund.status}`, refund.id);
  }
  return { status: 'pending', reference: refund.id };
}

function cardErrorCode(payment: Square.Payment): string | undefined {
  const code = payment.cardDetails?.errors?.[0]?.code;
  return code ? code.toLowerCase() : undefined;
}
