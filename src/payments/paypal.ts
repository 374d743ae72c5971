import {
  CheckoutPaymentIntent,
  OrdersController,
  PaypalExperienceUserAction,
  PaymentsController,
  type AuthorizationWithAdditionalData,
  type CapturedPayment,
  type Order,
  type OrdersCapture,
  type PaymentAuthorization,
  type Refund,
} from '@paypal/paypal-server-sdk';
import { fromMajorString, toMajorString } from '../domain/money.js';
import { captureKey, chargeKey, createKey, refundKey, voidKey } from './idempotency.js';
import type { ProviderOptions } from './options.js';
import { createPayPalClient, type PayPalSettings } from './paypal-client.js';
import { listDisputes } from './paypal-disputes.js';
import { isNotFound, issueOf, paypalCall, statusOf } from './paypal-errors.js';
import {
  PaymentAmountMismatchError,
  PaymentDeclinedError,
  PaymentIntentMismatchError,
  PaymentProviderError,
  RefundFailedError,
  type ChargeResult,
  type PaymentProvider,
  type ProviderRefund,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';

export type { PayPalSettings } from './paypal-client.js';

/**
 * PayPal through `@paypal/paypal-server-sdk`. The buyer approved a PayPal
 * order in the browser; its id is the payment source. We read it, check that it
 * is for exactly our total in our currency (else 422, nothing captured), and
 * capture it with PayPal-Request-Id `charge-<transaction id>`, so a repeated
 * capture replays the first answer. The reference is the capture id.
 *
 * Manual capture needs an order created with intent AUTHORIZE: it is
 * authorized (the reference is then the authorization id, with PayPal's
 * `expiration_time`), later its authorization captured for the amount owed
 * with `final_capture` (the rest is released) or voided, each with a
 * PayPal-Request-Id derived from our capture or void id. An approved order of
 * the other intent than the mode needs is PaymentIntentMismatchError.
 */
export function createPayPalProvider(settings: PayPalSettings, options: ProviderOptions = {}): PaymentProvider {
  const client = createPayPalClient(settings, options);
  const orders = new OrdersController(client);
  const payments = new PaymentsController(client);
  const getOrder = async (id: string): Promise<Order | null> =>
    paypalCall(client, async () => (await orders.getOrder({ id })).result).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });

  return {
    id: 'paypal',

    async charge({ transactionId, amount, currency, source, capture: mode, returnUrl }) {
      if (!source)
        return createForBuyer(transactionId, amount, currency, mode === 'manual' ? 'AUTHORIZE' : 'CAPTURE', returnUrl);
      const order = await getOrder(source);
      if (!order) throw new PaymentDeclinedError('The PayPal order does not exist.', 'invalid_source');
      const intent = mode === 'manual' ? 'AUTHORIZE' : 'CAPTURE';
      if (order.intent !== intent) {
        throw new PaymentIntentMismatchError(
          `The PayPal order was created with intent ${order.intent ?? 'unknown'}; this service needs intent ${intent}.`,
        );
      }
      assertAmount(order, amount, currency);
      // COMPLETED is tried too: if WE captured it (a retry), PayPal replays our capture for
      // this request id; if anyone else did, it answers ORDER_ALREADY_CAPTURED, a decline.
      if (order.status !== 'APPROVED' && order.status !== 'COMPLETED') {
        throw new PaymentDeclinedError(
          `The PayPal order is ${order.status ?? 'in an unknown state'}, not approved.`,
          'order_not_approved',
        );
      }
      return mode === 'manual' ? authorize(source, transactionId) : captureApproved(source, transactionId);
    },

    async completeAction({ transactionId, reference, capture: mode }) {
      const order = await getOrder(reference);
      if (!order) return { status: 'not_found' };
      if (order.status === 'VOIDED') return { status: 'failed', declineCode: 'order_voided' };
      if (order.status === 'COMPLETED') {
        const auth = order.purchaseUnits?.[0]?.payments?.authorizations?.[0];
        if (auth) return authorizationResult(auth);
        const capture = captureOf(order);
        return capture ? captureResult(capture) : { status: 'processing' };
      }
      // CREATED / PAYER_ACTION_REQUIRED: the buyer has not approved yet.
      if (order.status !== 'APPROVED') return { status: 'processing' };
      // Approved: captured (or authorized) with the request id of the transaction, so the webhook,
      // the buyer's return and the reconciler make one capture however many of them get here.
      try {
        const done =
          mode === 'manual'
            ? await authorize(reference, transactionId)
            : await captureApproved(reference, transactionId);
        return done.captured
          ? { status: 'succeeded', reference: done.reference }
          : { status: 'authorized', reference: done.reference, authorizationExpiresAt: done.authorizationExpiresAt };
      } catch (err) {
        if (err instanceof PaymentDeclinedError)
          return { status: 'failed', declineCode: err.declineCode ?? 'capture_declined' };
        throw err;
      }
    },

    // A PayPal order takes no money until the service captures or authorizes it, which it never does
    // once the order ended: it is as good as cancelled unless that already happened.
    async cancelAction({ reference }) {
      const order = await getOrder(reference);
      return order?.status === 'COMPLETED' ? 'not_cancelled' : 'cancelled';
    },

    async capture({ captureId, reference, amount, currency }) {
      let capture: CapturedPayment;
      try {
        capture = await paypalCall(
          client,
          async () =>
            (
              await payments.captureAuthorizedPayment({
                authorizationId: reference,
                paypalRequestId: captureKey(captureId),
                prefer: 'return=representation',
                // The invoice id tags the capture as this one of ours: PayPal refuses a second capture
                // with it, and it is how the capture is found again once the request id is forgotten.
                body: {
                  amount: { currencyCode: currency, value: toMajorString(amount, currency) },
                  finalCapture: true,
                  invoiceId: captureId,
                },
              })
            ).result,
        );
      } catch (err) {
        const issue = issueOf(err);
        if (!issue || !(err instanceof PaymentProviderError) || !isUnprocessable(err)) throw err;
        if (issue === 'AUTHORIZATION_ALREADY_CAPTURED' || issue === 'DUPLICATE_INVOICE_ID') {
          // This capture asked for again after PayPal forgot the request id: answer with the capture it made.
          const made = await captureOfAuthorization(reference);
          if (made?.id && made.invoiceId === captureId) return { reference: made.id };
        }
        throw new PaymentDeclinedError(err.message, CAPTURE_REFUSALS[issue] ?? issue.toLowerCase());
      }
      if (!capture.id) throw new PaymentProviderError('paypal: capture answered without an id');
      if (capture.status === 'COMPLETED') return { reference: capture.id };
      if (capture.status === 'DECLINED' || capture.status === 'FAILED') {
        throw new PaymentDeclinedError(
          'PayPal declined the capture.',
          capture.statusDetails?.reason?.toLowerCase() ?? 'capture_declined',
        );
      }
      // PENDING: the money is on its way; asking again with the same id reports it once it lands.
      throw new PaymentProviderError(`paypal: capture ${capture.id} is ${capture.status ?? 'unknown'}`);
    },

    async void({ voidId, reference }) {
      try {
        await paypalCall(
          client,
          async () =>
            (
              await payments.voidPayment({
                authorizationId: reference,
                paypalRequestId: voidKey(voidId),
                prefer: 'return=representation',
              })
            ).result,
        );
      } catch (err) {
        if (!(err instanceof PaymentProviderError) || !isUnprocessable(err)) throw err;
        const status = authorizationStatus(await getAuthorization(reference));
        if (status === 'VOIDED' || status === 'EXPIRED') return; // released already
        const captured = status === 'CAPTURED' || status === 'PARTIALLY_CAPTURED';
        throw new PaymentDeclinedError(
          err.message,
          captured ? 'already_captured' : (issueOf(err)?.toLowerCase() ?? 'void_refused'),
        );
      }
    },

    async refunds({ reference }) {
      const all = await refundsOfCapture(reference);
      return all
        .sort((a, b) => (a.createTime ?? '').localeCompare(b.createTime ?? ''))
        .map((r): ProviderRefund => {
          const status =
            r.status === 'COMPLETED'
              ? 'succeeded'
              : r.status === 'CANCELLED' || r.status === 'FAILED'
                ? 'failed'
                : 'pending';
          const value = r.amount;
          return {
            reference: r.id!,
            amount: value ? fromMajorString(value.value, value.currencyCode) : 0,
            currency: value?.currencyCode ?? '',
            status,
            refundId: r.customId ?? null,
          };
        });
    },

    async disputes({ reference }) {
      return listDisputes(client, reference);
    },

    async refund({ refundId, reference, amount, currency }) {
      // Request ids live hours, not forever: look for the refund tagged with our id first.
      const existing = await findRefund(reference, refundId);
      const refund =
        existing ??
        (await paypalCall(
          client,
          async () =>
            (
              await payments.refundCapturedPayment({
                captureId: reference,
                paypalRequestId: refundKey(refundId),
                prefer: 'return=representation',
                body: {
                  amount: { currencyCode: currency, value: toMajorString(amount, currency) },
                  customId: refundId,
                },
              })
            ).result,
        ));
      return refundResult(refund);
    },

    async retrieve({ reference, source }) {
      if (reference) {
        const capture = await paypalCall(
          client,
          async () => (await payments.getCapturedPayment({ captureId: reference })).result,
        ).catch((err: unknown) => {
          if (isNotFound(err)) return null;
          throw err;
        });
        if (capture) return captureResult(capture);
        // Not a capture: the reference of an authorization not captured yet.
        const auth = await getAuthorization(reference);
        return auth ? authorizationResult(auth) : { status: 'not_found' };
      }
      const order = await getOrder(source);
      const auth = order?.purchaseUnits?.[0]?.payments?.authorizations?.[0];
      if (auth) return authorizationResult(auth);
      const capture = order && captureOf(order);
      // An order still APPROVED (or CREATED) has taken no money: nothing was charged.
      if (!order || !capture) return order?.status === 'VOIDED' ? { status: 'failed' } : { status: 'not_found' };
      return captureResult(capture);
    },
  };

  async function authorize(orderId: string, transactionId: string): Promise<ChargeResult> {
    const authorized = await paypalCall(
      client,
      async () =>
        (
          await orders.authorizeOrder({
            id: orderId,
            paypalRequestId: chargeKey(transactionId),
            prefer: 'return=representation',
          })
        ).result,
      { declines: true },
    );
    const auth = authorized.purchaseUnits?.[0]?.payments?.authorizations?.[0];
    if (!auth?.id) throw new PaymentProviderError(`paypal: order ${orderId} authorized without an authorization`);
    if (auth.status === 'CREATED')
      return {
        reference: auth.id,
        captured: false,
        authorizationExpiresAt: auth.expirationTime ? new Date(auth.expirationTime) : null,
      };
    if (auth.status === 'DENIED')
      throw new PaymentDeclinedError(
        'PayPal denied the authorization.',
        auth.statusDetails?.reason?.toLowerCase() ?? 'authorization_denied',
      );
    // PENDING: PayPal is still deciding; the reconciler asks again later.
    throw new PaymentProviderError(`paypal: authorization ${auth.id} is ${auth.status ?? 'unknown'}`);
  }

  /**
   * The service creates the PayPal order itself (no `source`): intent by capture mode, our amount,
   * the return URL as both `return_url` and `cancel_url`; the buyer approves it at its `payer-action`
   * link. The request id derives from the transaction, so a retried create finds the same order.
   */
  async function createForBuyer(
    transactionId: string,
    amount: number,
    currency: string,
    intent: 'CAPTURE' | 'AUTHORIZE',
    returnUrl: string | null | undefined,
  ): Promise<ChargeResult> {
    if (!returnUrl)
      throw new PaymentDeclinedError(
        'A PayPal payment without an approved order needs a return URL.',
        'return_url_required',
      );
    const created = await paypalCall(
      client,
      async () =>
        (
          await orders.createOrder({
            paypalRequestId: createKey(transactionId),
            prefer: 'return=representation',
            body: {
              intent: intent === 'AUTHORIZE' ? CheckoutPaymentIntent.Authorize : CheckoutPaymentIntent.Capture,
              purchaseUnits: [
                { amount: { currencyCode: currency, value: toMajorString(amount, currency) }, customId: transactionId },
              ],
              paymentSource: {
                paypal: {
                  experienceContext: { returnUrl, cancelUrl: returnUrl, userAction: PaypalExperienceUserAction.PayNow },
                },
              },
            },
          })
        ).result,
    );
    if (!created.id) throw new PaymentProviderError('paypal: order created without an id');
    const link =
      created.links?.find((l) => l.rel === 'payer-action') ?? created.links?.find((l) => l.rel === 'approve');
    return {
      reference: created.id,
      captured: false,
      authorizationExpiresAt: null,
      action: { url: link?.href ?? null, clientSecret: null, providerData: { order_id: created.id }, expiresAt: null },
    };
  }

  /** Captures an approved order of intent CAPTURE; the request id derives from the transaction. */
  async function captureApproved(orderId: string, transactionId: string): Promise<ChargeResult> {
    const captured = await paypalCall(
      client,
      async () =>
        (
          await orders.captureOrder({
            id: orderId,
            paypalRequestId: chargeKey(transactionId),
            prefer: 'return=representation',
          })
        ).result,
      { declines: true },
    );
    const capture = captureOf(captured);
    if (!capture?.id) throw new PaymentProviderError(`paypal: order ${orderId} captured without a capture`);
    if (capture.status === 'COMPLETED') return { reference: capture.id, captured: true, authorizationExpiresAt: null };
    if (capture.status === 'DECLINED' || capture.status === 'FAILED') {
      throw new PaymentDeclinedError(
        'PayPal declined the payment.',
        capture.statusDetails?.reason?.toLowerCase() ?? 'capture_declined',
      );
    }
    // PENDING (e.g. under review): the money may still arrive; the reconciler asks again later.
    throw new PaymentProviderError(`paypal: capture ${capture.id} is ${capture.status ?? 'unknown'}`);
  }

  async function getAuthorization(authorizationId: string): Promise<PaymentAuthorization | null> {
    return paypalCall(client, async () => (await payments.getAuthorizedPayment({ authorizationId })).result).catch(
      (err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      },
    );
  }

  /** The capture made of an authorization, found through its order (an authorization does not list its captures). */
  async function captureOfAuthorization(authorizationId: string): Promise<OrdersCapture | undefined> {
    const auth = await getAuthorization(authorizationId);
    const orderId = auth?.supplementaryData?.relatedIds?.orderId;
    const order = orderId ? await getOrder(orderId) : null;
    const captures = order?.purchaseUnits?.flatMap((u) => u.payments?.captures ?? []) ?? [];
    return (
      captures.find(
        (c) =>
          c.status !== 'DECLINED' && c.status !== 'FAILED' && linksUp(c.links, `/authorizations/${authorizationId}`),
      ) ?? captures.find((c) => c.status === 'COMPLETED')
    );
  }

  function authorizationResult(
    auth: PaymentAuthorization | AuthorizationWithAdditionalData,
  ): Promise<RetrieveResult> | RetrieveResult {
    const expiresAt = auth.expirationTime ? new Date(auth.expirationTime) : null;
    switch (authorizationStatus(auth)) {
      case 'CREATED':
        return { status: 'authorized', reference: auth.id!, authorizationExpiresAt: expiresAt };
      case 'VOIDED':
        return { status: 'voided', reference: auth.id!, expired: false };
      case 'EXPIRED':
        return { status: 'voided', reference: auth.id!, expired: true };
      case 'CAPTURED':
      case 'PARTIALLY_CAPTURED':
        return captureOfAuthorization(auth.id!).then((c): RetrieveResult =>
          c?.id ? captureResult(c) : { status: 'processing' },
        );
      case 'DENIED':
        return { status: 'failed', declineCode: auth.statusDetails?.reason?.toLowerCase() ?? 'authorization_denied' };
      default:
        return { status: 'processing' };
    }
  }

  /** PayPal lists no refunds per capture: they are on the capture's order, each linked "up" to its capture. */
  async function refundsOfCapture(captureId: string): Promise<Refund[]> {
    const capture = await paypalCall(client, async () => (await payments.getCapturedPayment({ captureId })).result);
    const orderId = capture.supplementaryData?.relatedIds?.orderId;
    if (!orderId) return [];
    const order = await paypalCall(client, async () => (await orders.getOrder({ id: orderId })).result);
    return (
      order.purchaseUnits
        ?.flatMap((u) => u.payments?.refunds ?? [])
        .filter((r) => linksUp(r.links, `/captures/${captureId}`) || !r.links?.some((l) => l.rel === 'up')) ?? []
    );
  }

  async function findRefund(captureId: string, refundId: string): Promise<Refund | undefined> {
    return (await refundsOfCapture(captureId)).find((r) => r.customId === refundId);
  }
}

/** How PayPal names a refused capture, in our decline codes. */
const CAPTURE_REFUSALS: Record<string, string> = {
  AUTHORIZATION_EXPIRED: 'authorization_expired',
  AUTHORIZATION_VOIDED: 'authorization_voided',
  AUTHORIZATION_ALREADY_CAPTURED: 'already_captured',
  MAX_CAPTURE_AMOUNT_EXCEEDED: 'amount_too_large',
  MAX_CAPTURE_COUNT_EXCEEDED: 'already_captured',
  DUPLICATE_INVOICE_ID: 'already_captured',
};

/** The SDK's enum omits EXPIRED, which PayPal does answer (its schema lets unknown values through). */
function authorizationStatus(auth: { status?: string } | null): string | undefined {
  return auth?.status;
}

function isUnprocessable(err: PaymentProviderError): boolean {
  return statusOf(err) === 422;
}

function linksUp(links: { rel?: string; href?: string }[] | undefined, path: string): boolean {
  return links?.some((l) => l.rel === 'up' && typeof l.href === 'string' && l.href.includes(path)) ?? false;
}

/** The approved order must be for exactly our amount and currency: one purchase unit, compared in minor units. */
function assertAmount(order: Order, amount: number, currency: string): void {
  const units = order.purchaseUnits ?? [];
  const value = units[0]?.amount;
  let theirs: number | null = null;
  if (units.length === 1 && value?.currencyCode === currency) {
    try {
      theirs = fromMajorString(value.value, currency);
    } catch {
      theirs = null; // more decimals than the currency has: cannot be our amount
    }
  }
  if (theirs !== amount) {
    const shown =
      units.map((u) => `${u.amount?.value ?? '?'} ${u.amount?.currencyCode ?? '?'}`).join(' + ') || 'nothing';
    throw new PaymentAmountMismatchError(
      `The PayPal order is for ${shown}; the order total is ${toMajorString(amount, currency)} ${currency}.`,
    );
  }
}

function captureOf(order: Order): OrdersCapture | undefined {
  return order.purchaseUnits?.[0]?.payments?.captures?.[0];
}

function captureResult(capture: OrdersCapture | CapturedPayment): RetrieveResult {
  switch (capture.status) {
    case 'COMPLETED':
    case 'PARTIALLY_REFUNDED':
    case 'REFUNDED': // the charge happened; refunds are tracked separately
      return { status: 'succeeded', reference: capture.id! };
    case 'DECLINED':
    case 'FAILED':
      return { status: 'failed', declineCode: capture.statusDetails?.reason?.toLowerCase() ?? 'capture_declined' };
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Refund): RefundResult {
  if (!refund.id) throw new PaymentProviderError('paypal: refund answered without an id');
  if (refund.status === 'COMPLETED') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'CANCELLED' || refund.status === 'FAILED')
    throw new RefundFailedError(`paypal: refund ${refund.id} ${refund.status}`, refund.id);
  return { status: 'pending', reference: refund.id };
}
