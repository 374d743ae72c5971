import { hmacValidator } from '@adyen/api-library';
import { randomBytes } from 'node:crypto';
import type { AdyenSettings } from '../../src/payments/adyen-client.js';
import { fingerprint, HttpEmulator, type ProviderPayment, type RecordedRequest, type Reply } from './http-emulator.js';

/**
 * Adyen's Checkout API v72 (the version @adyen/api-library 32 calls) and its standard
 * notifications, as the library and our webhook see them: `X-API-Key` authentication,
 * `Idempotency-Key` replay (the same key with another body is refused), amounts `{value, currency}`
 * in minor units, `resultCode` answers, ServiceError bodies (`{status, errorCode, message,
 * errorType}`) for refused requests, 16-character pspReferences.
 *
 * Modifications are asynchronous as at Adyen: /captures, /cancels and /refunds answer 201
 * `received` and the outcome is a notification (CAPTURE, CANCELLATION, REFUND, with `success`
 * "true" or "false" and a `reason`). Every notification is kept; `delivery()` signs the undelivered
 * ones into one batch (`{live, notificationItems: [{NotificationRequestItem}]}`, each item's
 * `additionalData.hmacSignature` computed by the library's own HmacValidator with the HMAC key).
 *
 * Payment methods: `{type: "scheme", encryptedCardNumber: "test_4111111111111111"}` is authorised;
 * `test_refused` is Refused ("Not enough balance"); `{type: "ideal"}` and
 * `encryptedCardNumber: "test_3ds2"` need the shopper (RedirectShopper / ChallengeShopper);
 * `test_pending` is `Received`, its AUTHORISATION only once `decide` says. `POST /cancels` (by our
 * reference) answers `received` and notifies TECHNICAL_CANCEL.
 */
export interface NotificationItem {
  amount: { value: number; currency: string };
  eventCode: string;
  eventDate: string;
  merchantAccountCode: string;
  merchantReference: string;
  originalReference?: string;
  pspReference: string;
  reason: string;
  success: 'true' | 'false';
  paymentMethod?: string;
  additionalData?: Record<string, string>;
}

interface Payment {
  pspReference: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  paymentMethod: string;
  state: 'authorised' | 'refused' | 'action' | 'pending' | 'cancelled' | 'expired';
  manual: boolean;
  captured: number;
  refunded: number;
}

const REFUSALS: Record<string, { reason: string; code: string }> = {
  test_refused: { reason: 'Not enough balance', code: '51' },
  test_cvc_declined: { reason: 'CVC Declined', code: '24' },
};

export class AdyenEmulator extends HttpEmulator {
  readonly apiKey = 'AQE-emulator-api-key';
  readonly merchantAccount = 'OrderApiECOM';
  /** Hex, as the Customer Area shows it. */
  readonly hmacKey = randomBytes(32).toString('hex').toUpperCase();
  readonly payments = new Map<string, Payment>();
  readonly notifications: NotificationItem[] = [];
  /** How new refunds end: a REFUND notification with success true or false, or none until `settleRefunds`. */
  refundStatus: 'succeeded' | 'pending' | 'failed' = 'succeeded';
  private delivered = 0;
  private readonly heldRefunds: NotificationItem[] = [];
  private readonly stored = new Map<string, { fingerprint: string; reply: Reply }>();

  constructor() {
    super((req, url) => this.route(req, url));
  }

  settings(): AdyenSettings {
    return {
      apiKey: this.apiKey,
      merchantAccount: this.merchantAccount,
      hmacKey: this.hmacKey,
      environment: 'TEST',
      liveUrlPrefix: null,
      apiBase: this.url,
    };
  }

  forgetIdempotencyKeys(): void {
    this.stored.clear();
  }

  paymentOf(merchantReference: string): Payment | undefined {
    return [...this.payments.values()].find((p) => p.merchantReference === merchantReference);
  }

  /** Notifications not yet handed out by `delivery()`, oldest first. */
  undelivered(): NotificationItem[] {
    return this.notifications.slice(this.delivered);
  }

  /** The undelivered notifications as Adyen posts them: one signed batch (null when there is none). */
  delivery(): { body: string; headers: Record<string, string> } | null {
    const items = this.undelivered();
    this.delivered = this.notifications.length;
    return items.length ? this.batch(items) : null;
  }

  /** Any items, signed as Adyen signs them (a test may alter one afterwards to forge it). */
  batch(items: NotificationItem[]): { body: string; headers: Record<string, string> } {
    const signed = items.map((item) => ({ NotificationRequestItem: this.sign(item) }));
    return {
      body: JSON.stringify({ live: 'false', notificationItems: signed }),
      headers: { 'content-type': 'application/json' },
    };
  }

  sign(item: NotificationItem): NotificationItem {
    const hmacSignature = new hmacValidator().calculateHmac(item as never, this.hmacKey);
    return { ...item, additionalData: { ...item.additionalData, hmacSignature } };
  }

  settleRefunds(): void {
    for (const n of this.heldRefunds.splice(0)) this.notify(n);
  }

  /** The authorization lapses: a later capture fails. */
  expireAuthorization(pspReference: string): void {
    const p = this.payments.get(pspReference);
    if (p?.state === 'authorised' && p.captured === 0) p.state = 'expired';
  }

  /** A refund made in the Customer Area: Adyen names the payment's own merchant reference. Never more than is left. */
  dashboardRefund(pspReference: string, value: number): NotificationItem {
    const p = this.payments.get(pspReference)!;
    if (value > p.captured - p.refunded) throw new Error(`adyen: ${pspReference} has ${p.captured - p.refunded} left`);
    p.refunded += value;
    return this.notify(
      this.item(p, 'REFUND', {
        pspReference: psp(),
        originalReference: p.pspReference,
        amount: { value, currency: p.amount.currency },
      }),
    );
  }

  openDispute(pspReference: string, value: number): NotificationItem {
    const p = this.payments.get(pspReference)!;
    const disputePsp = psp();
    const amount = { value, currency: p.amount.currency };
    this.notify(
      this.item(p, 'NOTIFICATION_OF_CHARGEBACK', {
        pspReference: disputePsp,
        originalReference: p.pspReference,
        amount,
        reason: 'Fraudulent transaction',
      }),
    );
    return this.notify(
      this.item(p, 'CHARGEBACK', {
        pspReference: disputePsp,
        originalReference: p.pspReference,
        amount,
        reason: 'Fraudulent transaction',
      }),
    );
  }

  settleDispute(dispute: NotificationItem, outcome: 'won' | 'lost'): NotificationItem {
    return this.notify({
      ...dispute,
      eventCode: outcome === 'won' ? 'CHARGEBACK_REVERSED' : 'SECOND_CHARGEBACK',
      eventDate: new Date().toISOString(),
    });
  }

  capturedAmount(pspReference: string): number {
    return this.payments.get(pspReference)?.captured ?? 0;
  }

  /** Payments Adyen authorised for our transaction (refused ones took nothing). */
  chargesFor(merchantReference: string): number {
    return [...this.payments.values()].filter(
      (p) =>
        p.merchantReference === merchantReference &&
        p.state !== 'refused' &&
        p.state !== 'action' &&
        p.state !== 'pending',
    ).length;
  }

  refundsOf(pspReference: string): NotificationItem[] {
    return [...this.notifications, ...this.heldRefunds].filter(
      (n) => n.eventCode === 'REFUND' && n.originalReference === pspReference,
    );
  }

  private route(req: RecordedRequest, url: URL): Reply {
    if (req.headers['x-api-key'] !== this.apiKey)
      return serviceError(401, '000', 'HTTP Status Response - Unauthorized', 'security');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body || '{}') as Record<string, unknown>;
    } catch {
      return serviceError(400, '702', 'Structure of the request is invalid', 'validation');
    }
    const key = req.headers['idempotency-key'];
    const idem = typeof key === 'string' ? key : undefined;
    if (idem) {
      const seen = this.stored.get(idem);
      if (seen)
        return seen.fingerprint === fingerprint([url.pathname, body])
          ? seen.reply
          : serviceError(422, '704', 'request already processed or in progress', 'validation');
    }
    const reply = this.dispatch(req.method, url.pathname, body);
    if (idem && reply.status < 500) this.stored.set(idem, { fingerprint: fingerprint([url.pathname, body]), reply });
    return reply;
  }

  private dispatch(method: string, path: string, body: Record<string, unknown>): Reply {
    if (method !== 'POST') return serviceError(405, '000', 'Method not allowed', 'validation');
    if (path !== '/v72/payments/details' && body.merchantAccount !== this.merchantAccount)
      return serviceError(403, '901', 'Invalid Merchant Account', 'security');
    if (path === '/v72/payments') return this.pay(body);
    if (path === '/v72/payments/details') return this.details(body);
    if (path === '/v72/cancels') return this.cancelByReference(body);
    const m = /^\/v72\/payments\/([^/]+)\/(captures|cancels|refunds)$/.exec(path);
    if (!m) return serviceError(404, '000', 'Not found', 'validation');
    const p = this.payments.get(m[1]!);
    if (!p) return serviceError(422, '167', 'Original pspReference required for this operation', 'validation');
    const reference = typeof body.reference === 'string' ? body.reference : p.merchantReference;
    const amount = (body.amount as Payment['amount'] | undefined) ?? p.amount;
    const modification = psp();
    if (m[2] === 'captures') this.notify(this.captured(p, modification, reference, amount));
    else if (m[2] === 'cancels') this.notify(this.cancelled(p, modification, reference));
    else this.refund(p, modification, reference, amount);
    const answer: Record<string, unknown> = {
      merchantAccount: this.merchantAccount,
      paymentPspReference: p.pspReference,
      pspReference: modification,
      reference,
      status: 'received',
    };
    if (m[2] !== 'cancels') answer.amount = amount;
    return { status: 201, body: answer };
  }

  private pay(body: Record<string, unknown>): Reply {
    const amount = body.amount as Payment['amount'];
    const method = (body.paymentMethod ?? {}) as { type?: string; encryptedCardNumber?: string };
    const reference = String(body.reference);
    const manual = (body.additionalData as Record<string, string> | undefined)?.manualCapture === 'true';
    if (!method.type)
      return serviceError(422, '14_030', "Required field 'paymentMethod.type' is not provided", 'validation');
    const p: Payment = {
      pspReference: psp(),
      merchantReference: reference,
      amount,
      paymentMethod: method.type,
      state: 'authorised',
      manual,
      captured: 0,
      refunded: 0,
    };
    this.payments.set(p.pspReference, p);
    const refusal = REFUSALS[method.encryptedCardNumber ?? ''];
    if (refusal) {
      p.state = 'refused';
      this.notify(this.item(p, 'AUTHORISATION', { success: 'false', reason: refusal.reason }));
      return {
        status: 200,
        body: {
          pspReference: p.pspReference,
          resultCode: 'Refused',
          refusalReason: refusal.reason,
          refusalReasonCode: refusal.code,
          merchantReference: reference,
        },
      };
    }
    if (method.encryptedCardNumber === 'test_pending') {
      // Adyen decides later (an acquirer slow to answer): `Received`, and the AUTHORISATION only when `decide` says.
      p.state = 'pending';
      return {
        status: 200,
        body: { pspReference: p.pspReference, resultCode: 'Received', merchantReference: reference },
      };
    }
    if (method.type === 'ideal' || method.encryptedCardNumber === 'test_3ds2') {
      p.state = 'action';
      const action =
        method.type === 'ideal'
          ? {
              type: 'redirect',
              paymentMethodType: 'ideal',
              method: 'GET',
              url: `${this.url}/hpp/redirect/${p.pspReference}`,
            }
          : {
              type: 'threeDS2',
              subtype: 'challenge',
              paymentMethodType: 'scheme',
              token: randomBytes(24).toString('base64'),
              authorisationToken: randomBytes(12).toString('base64'),
            };
      return {
        status: 200,
        body: {
          pspReference: p.pspReference,
          resultCode: method.type === 'ideal' ? 'RedirectShopper' : 'ChallengeShopper',
          action,
          merchantReference: reference,
        },
      };
    }
    if (!manual) p.captured = amount.value;
    this.notify(this.item(p, 'AUTHORISATION', {}));
    return {
      status: 200,
      body: { pspReference: p.pspReference, resultCode: 'Authorised', merchantReference: reference, amount },
    };
  }

  /**
   * The shopper finishes at the bank or the 3-D Secure page: Adyen decides (AUTHORISATION is
   * notified) and sends the shopper back with a `redirectResult`, returned here, which
   * /payments/details answers with the outcome.
   */
  completeShopper(pspReference: string, outcome: 'authorised' | 'refused'): string {
    const p = this.payments.get(pspReference)!;
    if (p.state === 'cancelled') {
      // Cancelled by our reference before the shopper finished: Adyen authorises nothing.
    } else if (outcome === 'refused') {
      p.state = 'refused';
      this.notify(this.item(p, 'AUTHORISATION', { success: 'false', reason: 'Refused' }));
    } else {
      p.state = 'authorised';
      if (!p.manual) p.captured = p.amount.value;
      this.notify(this.item(p, 'AUTHORISATION', {}));
    }
    return Buffer.from(JSON.stringify({ psp: pspReference, n: randomBytes(6).toString('hex') })).toString('base64url');
  }

  /**
   * `POST /cancels` with our `paymentReference`: Adyen cancels the payment made under that reference
   * whatever it reached, and says so in TECHNICAL_CANCEL (`originalReference` the payment's
   * pspReference when there is one; `success` "false" when it was already captured).
   */
  private cancelByReference(body: Record<string, unknown>): Reply {
    const paymentReference = String(body.paymentReference ?? '');
    if (!paymentReference)
      return serviceError(422, '14_0', "Required field 'paymentReference' is not provided", 'validation');
    const p = this.paymentOf(paymentReference);
    const cancel = psp();
    const item: NotificationItem = {
      amount: p?.amount ?? { value: 0, currency: 'EUR' },
      eventCode: 'TECHNICAL_CANCEL',
      eventDate: new Date().toISOString(),
      merchantAccountCode: this.merchantAccount,
      merchantReference: paymentReference,
      pspReference: cancel,
      reason: '',
      success: 'true',
      ...(p ? { originalReference: p.pspReference } : {}),
    };
    if (p && p.captured > 0) Object.assign(item, { success: 'false', reason: 'Payment already captured' });
    else if (p && p.state !== 'refused') p.state = 'cancelled';
    this.notify(item);
    return {
      status: 201,
      body: {
        merchantAccount: this.merchantAccount,
        paymentReference,
        pspReference: cancel,
        reference: body.reference,
        status: 'received',
      },
    };
  }

  /** A payment Adyen left `Received` is decided now (its AUTHORISATION notified), unless it was cancelled meanwhile. */
  decide(pspReference: string, outcome: 'authorised' | 'refused'): void {
    const p = this.payments.get(pspReference)!;
    if (p.state !== 'pending') return;
    p.state = outcome;
    if (outcome === 'refused') {
      this.notify(this.item(p, 'AUTHORISATION', { success: 'false', reason: 'Refused' }));
      return;
    }
    if (!p.manual) p.captured = p.amount.value;
    this.notify(this.item(p, 'AUTHORISATION', {}));
  }

  /**
   * The shopper never finishes: the session expires at Adyen, which notifies AUTHORISATION with
   * success "false" (a payment method's own expiry; a 3-D Secure challenge's after its timeout).
   */
  expireShopper(pspReference: string): void {
    const p = this.payments.get(pspReference);
    if (p?.state !== 'action') return;
    p.state = 'expired';
    this.notify(this.item(p, 'AUTHORISATION', { success: 'false', reason: 'Expired' }));
  }

  /** Each payment as the audit compares it with our ledger (http-emulator.ts ProviderPayment). */
  protected override records(): ProviderPayment[] {
    return [...this.payments.values()].map((p) => {
      const of = (code: string) =>
        this.notifications.filter((n) => n.eventCode === code && n.originalReference === p.pspReference);
      // Ours name our ledger row (capture, refund id) as their reference; the Customer Area's the payment's own.
      const ledgerId = (n: NotificationItem) =>
        n.merchantReference === p.merchantReference ? null : n.merchantReference;
      const captures = p.manual
        ? of('CAPTURE')
            .filter((n) => n.success === 'true')
            .map((n) => ({ id: n.pspReference, amount: n.amount.value, ledgerId: ledgerId(n) }))
        : p.captured > 0
          ? [{ id: p.pspReference, amount: p.captured, ledgerId: null }]
          : [];
      const held = this.heldRefunds.filter((n) => n.originalReference === p.pspReference);
      return {
        id: p.pspReference,
        transactionId: p.merchantReference,
        currency: p.amount.currency,
        held: p.manual && p.state === 'authorised' && p.captured === 0 ? p.amount.value : 0,
        captured: p.captured,
        captures,
        refunds: [
          ...of('REFUND').map((n) => ({
            id: n.pspReference,
            amount: n.amount.value,
            status: n.success === 'true' ? ('succeeded' as const) : ('failed' as const),
            ledgerId: ledgerId(n),
          })),
          ...held.map((n) => ({
            id: n.pspReference,
            amount: n.amount.value,
            status: 'pending' as const,
            ledgerId: ledgerId(n),
          })),
        ],
      };
    });
  }

  private details(body: Record<string, unknown>): Reply {
    const redirectResult = (body.details as { redirectResult?: unknown } | undefined)?.redirectResult;
    let psp: string | undefined;
    try {
      psp = (JSON.parse(Buffer.from(String(redirectResult), 'base64url').toString()) as { psp?: string }).psp;
    } catch {
      psp = undefined;
    }
    const p = psp ? this.payments.get(psp) : undefined;
    if (!p) return serviceError(422, '101', 'Invalid redirectResult', 'validation');
    const base = { pspReference: p.pspReference, merchantReference: p.merchantReference, amount: p.amount };
    if (p.state === 'refused')
      return {
        status: 200,
        body: { ...base, resultCode: 'Refused', refusalReason: 'Refused', refusalReasonCode: '2' },
      };
    if (p.state === 'action' || p.state === 'pending') return { status: 200, body: { ...base, resultCode: 'Pending' } };
    if (p.state === 'cancelled' && p.captured === 0) return { status: 200, body: { ...base, resultCode: 'Cancelled' } };
    return { status: 200, body: { ...base, resultCode: 'Authorised' } };
  }

  private captured(p: Payment, pspReference: string, reference: string, amount: Payment['amount']): NotificationItem {
    const base = { pspReference, originalReference: p.pspReference, merchantReference: reference, amount };
    const reason =
      p.state === 'expired'
        ? 'Authorisation expired'
        : p.state === 'cancelled'
          ? 'Payment cancelled'
          : p.captured > 0
            ? 'Payment already captured'
            : amount.value > p.amount.value
              ? 'Insufficient balance on payment'
              : null;
    if (reason) return this.item(p, 'CAPTURE', { ...base, success: 'false', reason });
    p.captured = amount.value;
    return this.item(p, 'CAPTURE', base);
  }

  private cancelled(p: Payment, pspReference: string, reference: string): NotificationItem {
    const base = { pspReference, originalReference: p.pspReference, merchantReference: reference };
    if (p.captured > 0)
      return this.item(p, 'CANCELLATION', { ...base, success: 'false', reason: 'Payment already captured' });
    if (p.state === 'authorised') p.state = 'cancelled';
    return this.item(p, 'CANCELLATION', base);
  }

  private refund(p: Payment, pspReference: string, reference: string, amount: Payment['amount']): void {
    const base = { pspReference, originalReference: p.pspReference, merchantReference: reference, amount };
    if (amount.value > p.captured - p.refunded) {
      this.notify(
        this.item(p, 'REFUND', { ...base, success: 'false', reason: 'Insufficient in-process balance on payment' }),
      );
      return;
    }
    if (this.refundStatus === 'failed') {
      this.notify(this.item(p, 'REFUND', { ...base, success: 'false', reason: 'Refund rejected by the acquirer' }));
      return;
    }
    p.refunded += amount.value;
    const item = this.item(p, 'REFUND', base);
    if (this.refundStatus === 'pending') this.heldRefunds.push(item);
    else this.notify(item);
  }

  private item(p: Payment, eventCode: string, over: Partial<NotificationItem>): NotificationItem {
    return {
      amount: p.amount,
      eventCode,
      eventDate: new Date().toISOString(),
      merchantAccountCode: this.merchantAccount,
      merchantReference: p.merchantReference,
      pspReference: p.pspReference,
      reason: '',
      success: 'true',
      paymentMethod: p.paymentMethod === 'scheme' ? 'visa' : p.paymentMethod,
      ...over,
    };
  }

  private notify(item: NotificationItem): NotificationItem {
    this.notifications.push(item);
    return item;
  }
}

function serviceError(status: number, errorCode: string, message: string, errorType: string): Reply {
  return { status, body: { status, errorCode, message, errorType } };
}

/** Adyen's pspReferences are 16 alphanumeric characters. */
function psp(): string {
  let s = '';
  while (s.length < 16)
    s += randomBytes(12)
      .toString('base64')
      .replace(/[^A-Z0-9]/g, '');
  return s.slice(0, 16);
}
