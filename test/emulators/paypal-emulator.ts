import { createHmac, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { fromMajorString, toMajorString } from '../../src/domain/money.js';
import type { PayPalSettings } from '../../src/payments/paypal.js';
import { HttpEmulator, idFactory, type ProviderPayment, type RecordedRequest, type Reply } from './http-emulator.js';

/**
 * PayPal's REST API as the SDK sees it: OAuth2 client-credentials token, then
 * Bearer calls to v2/checkout/orders (GET, capture), v2/payments/captures (GET,
 * refund) and v1/notifications/verify-webhook-signature. Amounts are decimal
 * strings. PayPal-Request-Id replays the first answer of a capture or refund.
 *
 * Orders are made by the test (`approvedOrder`), standing in for the buyer who
 * approved one in the browser. Webhooks are signed with an emulator secret and
 * verified only by the emulator's verify endpoint, as PayPal's are.
 *
 * Orders the service creates itself (POST v2/checkout/orders with a `paypal` payment source and
 * its `experience_context`) are PAYER_ACTION_REQUIRED with a `payer-action` link, until
 * `approve(orderId)` (the buyer at PayPal) makes them APPROVED and returns the
 * CHECKOUT.ORDER.APPROVED webhook PayPal sends.
 *
 * An order of intent AUTHORIZE is authorized (v2/checkout/orders/{id}/authorize,
 * `expiration_time` 29 days on), then its authorization captured
 * (v2/payments/authorizations/{id}/capture, `amount` ≤ what is left,
 * `final_capture` releasing the rest) or voided (…/void); one intent's action on
 * the other's order is 422 ACTION_DOES_NOT_MATCH_INTENT. Disputes are served by
 * v1/customer/disputes (filtered by `disputed_transaction_id`, the capture id).
 */
type Json = Record<string, unknown>;
interface Amount {
  currency_code: string;
  value: string;
}
type Link = { href: string; rel: string; method: string };
interface Capture {
  id: string;
  status: string;
  amount: Amount;
  final_capture: boolean;
  invoice_id?: string;
  supplementary_data: { related_ids: { order_id: string; authorization_id?: string } };
  links: Link[];
  create_time: string;
  update_time: string;
}
interface Authorization {
  id: string;
  status: string;
  amount: Amount;
  expiration_time: string;
  supplementary_data: { related_ids: { order_id: string } };
  links: Link[];
  create_time: string;
  update_time: string;
}
interface PDispute {
  dispute_id: string;
  create_time: string;
  update_time: string;
  reason: string;
  status: string;
  dispute_state: string;
  dispute_amount: Amount;
  disputed_transactions: { seller_transaction_id: string }[];
  dispute_outcome?: { outcome_code: string };
  links: Link[];
}
type Delivery = { body: string; headers: Record<string, string>; id: string };
interface PRefund {
  id: string;
  status: string;
  amount: Amount;
  custom_id?: string;
  links: { href: string; rel: string; method: string }[];
  create_time: string;
}
interface POrder {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: string;
  create_time: string;
  /** Orders created through the API (the service's own): where the buyer approves it. */
  links?: Link[];
  payment_source?: { paypal: { experience_context?: { return_url?: string; cancel_url?: string } } };
  purchase_units: {
    reference_id: string;
    amount: Amount;
    payments?: { authorizations?: Authorization[]; captures: Capture[]; refunds?: PRefund[] };
  }[];
}

const API = 'https://api-m.sandbox.paypal.com';

export class PayPalEmulator extends HttpEmulator {
  readonly clientId = 'paypal-emulator-client';
  readonly clientSecret = 'paypal-emulator-secret';
  readonly webhookId = 'WH-EMULATOR-1';
  readonly orders = new Map<string, POrder>();
  readonly captures = new Map<string, { capture: Capture; orderId: string; requestId: string | undefined }>();
  readonly refunds = new Map<string, PRefund & { captureId: string }>();
  readonly authorizations = new Map<string, Authorization>();
  readonly disputes = new Map<string, PDispute>();
  refundStatus: 'COMPLETED' | 'PENDING' | 'FAILED' = 'COMPLETED';
  private readonly signingSecret = randomUUID();
  private readonly tokens = new Set<string>();
  private readonly declined = new Set<string>();
  private readonly stored = new Map<string, Reply>();
  private readonly newId = idFactory();
  /** The PayPal-Request-Id each authorization was made with (ours: charge-<transaction id>). */
  private readonly authorizationRequests = new Map<string, string | undefined>();

  constructor() {
    super((req, url) => this.route(req, url));
  }

  settings(): PayPalSettings {
    return { clientId: this.clientId, clientSecret: this.clientSecret, apiBase: this.url, webhookId: this.webhookId };
  }

  /** An order the buyer approved for `amount` minor units of `currency` (or a raw `value`, to test mismatches). */
  approvedOrder(
    amount: number,
    currency: string,
    opts: { decline?: boolean; value?: string; status?: string; units?: number; intent?: POrder['intent'] } = {},
  ): string {
    const id = this.newId('ORDER').toUpperCase();
    const value = opts.value ?? toMajorString(amount, currency);
    const unit = (i: number) => ({
      reference_id: i === 0 ? 'default' : `unit-${i}`,
      amount: { currency_code: currency, value },
    });
    this.orders.set(id, {
      id,
      intent: opts.intent ?? 'CAPTURE',
      status: opts.status ?? 'APPROVED',
      create_time: new Date().toISOString(),
      purchase_units: Array.from({ length: opts.units ?? 1 }, (_, i) => unit(i)),
    });
    if (opts.decline) this.declined.add(id);
    return id;
  }

  /** The buyer approves an order the service created, at its payer-action link: returns CHECKOUT.ORDER.APPROVED. */
  approve(orderId: string): Delivery {
    const order = this.orders.get(orderId);
    if (order?.status !== 'PAYER_ACTION_REQUIRED') throw new Error(`${orderId} does not wait for its buyer`);
    order.status = 'APPROVED';
    return this.webhook('CHECKOUT.ORDER.APPROVED', structuredClone(order) as unknown as Json);
  }

  /** PayPal keeps request ids for hours: after this, a repeated request is executed anew. */
  forgetIdempotencyKeys(): void {
    this.stored.clear();
  }

  /** Pending refunds complete, in the order's copy too (both are the same objects' data). */
  settleRefunds(): void {
    for (const r of this.refunds.values()) if (r.status === 'PENDING') r.status = 'COMPLETED';
    for (const o of this.orders.values())
      for (const u of o.purchase_units)
        for (const r of u.payments?.refunds ?? []) if (r.status === 'PENDING') r.status = 'COMPLETED';
  }

  /** Captures made under our PayPal-Request-Id for a transaction. */
  capturesFor(transactionId: string): number {
    return [...this.captures.values()].filter((c) => c.requestId === `charge-${transactionId}`).length;
  }

  refundsFor(captureId: string): PRefund[] {
    return [...this.refunds.values()].filter((r) => r.captureId === captureId);
  }

  /** Money captured of an authorization. */
  capturedAmount(authorizationId: string): number {
    const auth = this.authorizations.get(authorizationId);
    if (!auth) return 0;
    const currency = auth.amount.currency_code;
    return this.capturesOf(authorizationId).reduce((s, c) => s + fromMajorString(c.amount.value, currency), 0);
  }

  /** The authorization lapses (29 days after it was made). */
  expireAuthorization(authorizationId: string): void {
    const auth = this.authorizations.get(authorizationId);
    if (auth?.status !== 'CREATED') throw new Error(`${authorizationId} is not awaiting capture`);
    Object.assign(auth, {
      status: 'EXPIRED',
      expiration_time: new Date(Date.now() - 1000).toISOString(),
      update_time: new Date().toISOString(),
    });
  }

  /** A refund made in PayPal's web interface: no custom_id of ours. Returns the `PAYMENT.CAPTURE.REFUNDED` PayPal sends. */
  dashboardRefund(captureId: string, amount: number): { refund: PRefund; delivery: Delivery } {
    const found = this.captures.get(captureId);
    if (!found) throw new Error(`no capture ${captureId}`);
    const reply = this.refund(captureId, {
      amount: {
        currency_code: found.capture.amount.currency_code,
        value: toMajorString(amount, found.capture.amount.currency_code),
      },
    });
    if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
    const refund = reply.body as PRefund;
    return { refund, delivery: this.webhook('PAYMENT.CAPTURE.REFUNDED', refund) };
  }

  /** The buyer opens a dispute about a capture: returns `CUSTOMER.DISPUTE.CREATED`. */
  openDispute(captureId: string, amount?: number): { dispute: PDispute; delivery: Delivery } {
    const found = this.captures.get(captureId);
    if (!found) throw new Error(`no capture ${captureId}`);
    const currency = found.capture.amount.currency_code;
    const at = new Date().toISOString();
    const id = `PP-D-${this.newId('').toUpperCase()}`;
    const dispute: PDispute = {
      dispute_id: id,
      create_time: at,
      update_time: at,
      reason: 'MERCHANDISE_OR_SERVICE_NOT_RECEIVED',
      status: 'OPEN',
      dispute_state: 'REQUIRED_ACTION',
      dispute_amount: {
        currency_code: currency,
        value: amount === undefined ? found.capture.amount.value : toMajorString(amount, currency),
      },
      disputed_transactions: [{ seller_transaction_id: captureId }],
      links: [{ href: `${API}/v1/customer/disputes/${id}`, rel: 'self', method: 'GET' }],
    };
    this.disputes.set(id, dispute);
    return { dispute, delivery: this.webhook('CUSTOMER.DISPUTE.CREATED', dispute) };
  }

  /** The dispute is resolved with an outcome (RESOLVED_SELLER_FAVOUR, RESOLVED_BUYER_FAVOUR, …): returns `CUSTOMER.DISPUTE.RESOLVED`. */
  settleDispute(disputeId: string, outcome: string): Delivery {
    const dispute = this.disputes.get(disputeId);
    if (!dispute) throw new Error(`no dispute ${disputeId}`);
    Object.assign(dispute, {
      status: 'RESOLVED',
      dispute_state: 'RESOLVED',
      dispute_outcome: { outcome_code: outcome },
      update_time: new Date().toISOString(),
    });
    return this.webhook('CUSTOMER.DISPUTE.RESOLVED', dispute);
  }

  private capturesOf(authorizationId: string): Capture[] {
    return [...this.captures.values()]
      .map((c) => c.capture)
      .filter((c) => c.supplementary_data.related_ids.authorization_id === authorizationId && c.status !== 'DECLINED');
  }

  /**
   * One record per payment: an order's capture (intent CAPTURE) or its authorization with the
   * captures made of it (intent AUTHORIZE). Our transaction id comes from the request id.
   */
  protected override records(): ProviderPayment[] {
    const minor = (a: Amount) => fromMajorString(a.value, a.currency_code);
    const transactionOf = (requestId: string | undefined) => requestId?.replace(/^charge-/, '') ?? null;
    const refundsOf = (captureIds: string[]) =>
      captureIds.flatMap((id) =>
        this.refundsFor(id).map((r) => ({
          id: r.id,
          amount: minor(r.amount),
          status:
            r.status === 'COMPLETED'
              ? ('succeeded' as const)
              : r.status === 'PENDING'
                ? ('pending' as const)
                : ('failed' as const),
          ledgerId: r.custom_id ?? null,
        })),
      );
    const direct = [...this.captures.values()]
      .filter((c) => !c.capture.supplementary_data.related_ids.authorization_id && c.capture.status !== 'DECLINED')
      .map(({ capture, requestId }) => ({
        id: capture.id,
        transactionId: transactionOf(requestId),
        currency: capture.amount.currency_code,
        held: 0,
        captured: minor(capture.amount),
        captures: [{ id: capture.id, amount: minor(capture.amount), ledgerId: null }],
        refunds: refundsOf([capture.id]),
      }));
    const authorized = [...this.authorizations.values()].map((auth) => {
      const captures = this.capturesOf(auth.id);
      const captured = captures.reduce((s, c) => s + minor(c.amount), 0);
      return {
        id: auth.id,
        transactionId: transactionOf(this.authorizationRequests.get(auth.id)),
        currency: auth.amount.currency_code,
        held: auth.status === 'CREATED' || auth.status === 'PARTIALLY_CAPTURED' ? minor(auth.amount) - captured : 0,
        captured,
        captures: captures.map((c) => ({ id: c.id, amount: minor(c.amount), ledgerId: c.invoice_id ?? null })),
        refunds: refundsOf(captures.map((c) => c.id)),
      };
    });
    return [...direct, ...authorized];
  }

  /** A webhook as PayPal delivers it: raw body plus the paypal-transmission-* headers. */
  webhook(eventType: string, resource: Json | PRefund | PDispute): Delivery {
    const id = `WH-${randomUUID()}`;
    const event = {
      id,
      event_version: '1.0',
      create_time: new Date().toISOString(),
      resource_type: eventType.split('.')[1]?.toLowerCase(),
      event_type: eventType,
      summary: eventType,
      resource,
    };
    const body = JSON.stringify(event);
    const transmissionId = randomUUID();
    const time = new Date().toISOString();
    return {
      id,
      body,
      headers: {
        'content-type': 'application/json',
        'paypal-transmission-id': transmissionId,
        'paypal-transmission-time': time,
        'paypal-transmission-sig': this.sign(transmissionId, time, this.webhookId, event),
        'paypal-auth-algo': 'SHA256withRSA',
        'paypal-cert-url': `${API}/v1/notifications/certs/CERT-emulator`,
      },
    };
  }

  private sign(transmissionId: string, time: string, webhookId: string, event: unknown): string {
    const message = `${transmissionId}|${time}|${webhookId}|${crc32(JSON.stringify(event))}`;
    return createHmac('sha256', this.signingSecret).update(message).digest('base64');
  }

  private route(req: RecordedRequest, url: URL): Reply {
    if (req.method === 'POST' && req.path === '/v1/oauth2/token') return this.token(req);
    const auth = req.headers.authorization?.replace(/^Bearer /, '');
    if (!auth || !this.tokens.has(auth))
      return {
        status: 401,
        body: { error: 'invalid_token', error_description: 'Token signature verification failed' },
      };
    const body = req.body ? (JSON.parse(req.body) as Json) : {};
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^\/v2\/checkout\/orders\/([^/]+)$/.exec(req.path))) {
      const order = this.orders.get(m[1]!);
      return order ? { status: 200, body: order } : notFound(m[1]!);
    }
    if (req.method === 'GET' && (m = /^\/v2\/payments\/captures\/([^/]+)$/.exec(req.path))) {
      const c = this.captures.get(m[1]!);
      return c ? { status: 200, body: c.capture } : notFound(m[1]!);
    }
    if (req.method === 'GET' && (m = /^\/v2\/payments\/authorizations\/([^/]+)$/.exec(req.path))) {
      const a = this.authorizations.get(m[1]!);
      return a ? { status: 200, body: a } : notFound(m[1]!);
    }
    if (req.method === 'GET' && req.path === '/v1/customer/disputes') {
      const tx = url.searchParams.get('disputed_transaction_id');
      const items = [...this.disputes.values()]
        .filter((d) => !tx || d.disputed_transactions.some((t) => t.seller_transaction_id === tx))
        .map(({ disputed_transactions: _t, dispute_outcome: _o, ...summary }) => summary);
      return { status: 200, body: { items, links: [] } };
    }
    if (req.method === 'GET' && (m = /^\/v1\/customer\/disputes\/([^/]+)$/.exec(req.path))) {
      const d = this.disputes.get(m[1]!);
      return d ? { status: 200, body: d } : notFound(m[1]!);
    }
    if (req.method === 'POST' && req.path === '/v1/notifications/verify-webhook-signature') return this.verify(body);
    const requestId = req.headers['paypal-request-id'] as string | undefined;
    const replay = requestId && this.stored.get(`${req.path} ${requestId}`);
    if (replay) return replay;
    let reply: Reply | undefined;
    if (req.method === 'POST' && req.path === '/v2/checkout/orders') reply = this.createOrder(body);
    if (req.method === 'POST' && (m = /^\/v2\/checkout\/orders\/([^/]+)\/capture$/.exec(req.path)))
      reply = this.capture(m[1]!, requestId);
    if (req.method === 'POST' && (m = /^\/v2\/checkout\/orders\/([^/]+)\/authorize$/.exec(req.path)))
      reply = this.authorize(m[1]!, requestId);
    if (req.method === 'POST' && (m = /^\/v2\/payments\/authorizations\/([^/]+)\/capture$/.exec(req.path)))
      reply = this.captureAuthorization(m[1]!, body, requestId);
    if (req.method === 'POST' && (m = /^\/v2\/payments\/authorizations\/([^/]+)\/void$/.exec(req.path)))
      reply = this.voidAuthorization(m[1]!);
    if (req.method === 'POST' && (m = /^\/v2\/payments\/captures\/([^/]+)\/refund$/.exec(req.path)))
      reply = this.refund(m[1]!, body);
    if (!reply) return { status: 404, body: { name: 'NOT_FOUND', message: `no route ${req.method} ${req.path}` } };
    if (requestId && reply.status < 300) this.stored.set(`${req.path} ${requestId}`, reply);
    return reply;
  }

  private token(req: RecordedRequest): Reply {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected || !req.body.includes('grant_type=client_credentials')) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client Authentication failed' } };
    }
    const token = `A21AA${randomUUID().replace(/-/g, '')}`;
    this.tokens.add(token);
    return {
      status: 200,
      body: {
        scope: 'https://uri.paypal.com/services/payments/payment',
        access_token: token,
        token_type: 'Bearer',
        app_id: 'APP-EMULATOR',
        expires_in: 32400,
        nonce: randomUUID(),
      },
    };
  }

  private createOrder(body: Json): Reply {
    const intent = body.intent;
    const units = body.purchase_units as { amount?: Amount; custom_id?: string }[] | undefined;
    const amount = units?.[0]?.amount;
    const context = (body.payment_source as POrder['payment_source'] | undefined)?.paypal?.experience_context;
    if ((intent !== 'CAPTURE' && intent !== 'AUTHORIZE') || !amount?.currency_code || !amount.value) {
      return {
        status: 400,
        body: {
          name: 'INVALID_REQUEST',
          message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
        },
      };
    }
    if (!context?.return_url || !context.cancel_url) {
      return unprocessable(
        'MISSING_REQUIRED_PARAMETER',
        'A required field / parameter is missing: payment_source/paypal/experience_context/return_url.',
      );
    }
    const id = this.newId('ORDER').toUpperCase();
    const order: POrder = {
      id,
      intent,
      status: 'PAYER_ACTION_REQUIRED',
      create_time: new Date().toISOString(),
      purchase_units: [
        { reference_id: 'default', amount: { currency_code: amount.currency_code, value: amount.value } },
      ],
      payment_source: { paypal: { experience_context: context } },
      links: [
        { href: `${API}/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' },
        { href: `https://www.sandbox.paypal.com/checkoutnow?token=${id}`, rel: 'payer-action', method: 'GET' },
      ],
    };
    this.orders.set(id, order);
    return { status: 200, body: structuredClone(order) };
  }

  private capture(orderId: string, requestId: string | undefined): Reply {
    const order = this.orders.get(orderId);
    if (!order) return notFound(orderId);
    if (order.intent !== 'CAPTURE')
      return unprocessable(
        'ACTION_DOES_NOT_MATCH_INTENT',
        'Order was created with an intent to AUTHORIZE; please use the authorize call.',
      );
    if (order.status === 'COMPLETED') return unprocessable('ORDER_ALREADY_CAPTURED', 'Order already captured.');
    if (order.status !== 'APPROVED')
      return unprocessable('ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
    if (this.declined.has(orderId))
      return unprocessable(
        'INSTRUMENT_DECLINED',
        'The instrument presented was either declined by the processor or bank.',
      );
    const at = new Date().toISOString();
    const unit = order.purchase_units[0]!;
    const id = this.newId('CAP').toUpperCase();
    const capture: Capture = {
      id,
      status: 'COMPLETED',
      amount: unit.amount,
      final_capture: true,
      supplementary_data: { related_ids: { order_id: orderId } },
      links: [
        { href: `${API}/v2/payments/captures/${id}`, rel: 'self', method: 'GET' },
        { href: `${API}/v2/checkout/orders/${orderId}`, rel: 'up', method: 'GET' },
      ],
      create_time: at,
      update_time: at,
    };
    this.captures.set(capture.id, { capture, orderId, requestId });
    unit.payments = { captures: [capture] };
    order.status = 'COMPLETED';
    return { status: 201, body: structuredClone(order) };
  }

  private authorize(orderId: string, requestId: string | undefined): Reply {
    const order = this.orders.get(orderId);
    if (!order) return notFound(orderId);
    if (order.intent !== 'AUTHORIZE')
      return unprocessable(
        'ACTION_DOES_NOT_MATCH_INTENT',
        'Order was created with an intent to CAPTURE; please use the capture call.',
      );
    if (order.status === 'COMPLETED') return unprocessable('ORDER_ALREADY_AUTHORIZED', 'Order already authorized.');
    if (order.status !== 'APPROVED')
      return unprocessable('ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
    if (this.declined.has(orderId))
      return unprocessable(
        'INSTRUMENT_DECLINED',
        'The instrument presented was either declined by the processor or bank.',
      );
    const at = new Date().toISOString();
    const unit = order.purchase_units[0]!;
    const id = this.newId('AUTH').toUpperCase();
    const auth: Authorization = {
      id,
      status: 'CREATED',
      amount: unit.amount,
      expiration_time: new Date(Date.now() + 29 * 24 * 3600_000).toISOString(),
      supplementary_data: { related_ids: { order_id: orderId } },
      create_time: at,
      update_time: at,
      links: ['self', 'capture', 'void', 'reauthorize'].map((rel) => ({
        href: `${API}/v2/payments/authorizations/${id}${rel === 'self' ? '' : `/${rel}`}`,
        rel,
        method: rel === 'self' ? 'GET' : 'POST',
      })),
    };
    this.authorizations.set(id, auth);
    this.authorizationRequests.set(id, requestId);
    unit.payments = { authorizations: [auth], captures: [] };
    order.status = 'COMPLETED';
    return { status: 201, body: structuredClone(order) };
  }

  private captureAuthorization(authorizationId: string, body: Json, requestId: string | undefined): Reply {
    const auth = this.authorizations.get(authorizationId);
    if (!auth) return notFound(authorizationId);
    if (auth.status === 'VOIDED')
      return unprocessable('AUTHORIZATION_VOIDED', 'A voided authorization cannot be captured or reauthorized.');
    if (auth.status === 'EXPIRED')
      return unprocessable('AUTHORIZATION_EXPIRED', 'An expired authorization cannot be captured.');
    if (auth.status === 'CAPTURED')
      return unprocessable(
        'AUTHORIZATION_ALREADY_CAPTURED',
        'Authorization has been previously captured and hence cannot be captured again.',
      );
    const currency = auth.amount.currency_code;
    const left = fromMajorString(auth.amount.value, currency) - this.capturedAmount(authorizationId);
    const asked = body.amount as Amount | undefined;
    if (asked && asked.currency_code !== currency)
      return unprocessable('CURRENCY_MISMATCH', 'Currency of capture must be the same as currency of authorization.');
    let amount: number;
    try {
      amount = asked ? fromMajorString(asked.value, currency) : left;
    } catch {
      return unprocessable('DECIMAL_PRECISION', 'The value of the field should not be more than two decimal places.');
    }
    // PayPal lets some merchants capture up to 115%; this account, like most, may not exceed what was authorized.
    if (amount < 1 || amount > left)
      return unprocessable('MAX_CAPTURE_AMOUNT_EXCEEDED', 'Capture amount exceeds allowable limit.');
    const invoiceId = typeof body.invoice_id === 'string' ? body.invoice_id : undefined;
    if (invoiceId && [...this.captures.values()].some((c) => c.capture.invoice_id === invoiceId))
      return unprocessable('DUPLICATE_INVOICE_ID', 'Requested invoice number has been previously captured.');
    const at = new Date().toISOString();
    const id = this.newId('CAP').toUpperCase();
    const orderId = auth.supplementary_data.related_ids.order_id;
    const capture: Capture = {
      id,
      status: 'COMPLETED',
      amount: { currency_code: currency, value: toMajorString(amount, currency) },
      final_capture: body.final_capture === true,
      ...(invoiceId && { invoice_id: invoiceId }),
      supplementary_data: { related_ids: { order_id: orderId, authorization_id: authorizationId } },
      create_time: at,
      update_time: at,
      links: [
        { href: `${API}/v2/payments/captures/${id}`, rel: 'self', method: 'GET' },
        { href: `${API}/v2/payments/captures/${id}/refund`, rel: 'refund', method: 'POST' },
        { href: `${API}/v2/payments/authorizations/${authorizationId}`, rel: 'up', method: 'GET' },
      ],
    };
    this.captures.set(id, { capture, orderId, requestId });
    this.orders.get(orderId)!.purchase_units[0]!.payments!.captures.push(capture);
    auth.status = capture.final_capture || amount === left ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
    auth.update_time = at;
    return { status: 201, body: structuredClone(capture) };
  }

  private voidAuthorization(authorizationId: string): Reply {
    const auth = this.authorizations.get(authorizationId);
    if (!auth) return notFound(authorizationId);
    if (auth.status === 'VOIDED')
      return unprocessable(
        'PREVIOUSLY_VOIDED',
        'Authorization has been previously voided and hence cannot be voided again.',
      );
    if (auth.status === 'CAPTURED' || auth.status === 'PARTIALLY_CAPTURED')
      return unprocessable(
        'PREVIOUSLY_CAPTURED',
        'Authorization has been previously captured and hence cannot be voided.',
      );
    if (auth.status === 'EXPIRED')
      return unprocessable('AUTHORIZATION_EXPIRED', 'An expired authorization cannot be voided.');
    Object.assign(auth, { status: 'VOIDED', update_time: new Date().toISOString() });
    return { status: 200, body: structuredClone(auth) };
  }

  private refund(captureId: string, body: Json): Reply {
    const found = this.captures.get(captureId);
    if (!found) return notFound(captureId);
    const { capture } = found;
    const currency = capture.amount.currency_code;
    const refunded = this.refundsFor(captureId)
      .filter((r) => r.status !== 'FAILED')
      .reduce((s, r) => s + fromMajorString(r.amount.value, currency), 0);
    const total = fromMajorString(capture.amount.value, currency);
    const asked = body.amount as Amount | undefined;
    if (asked && asked.currency_code !== currency)
      return unprocessable('REFUND_CURRENCY_MISMATCH', 'Refund currency must match the capture currency.');
    const amount = asked ? fromMajorString(asked.value, currency) : total - refunded;
    if (refunded >= total)
      return unprocessable('CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
    if (amount > total - refunded)
      return unprocessable(
        'REFUND_AMOUNT_EXCEEDED',
        'The refund amount must be less than or equal to the capture amount that has not yet been refunded.',
      );
    const refund = {
      id: this.newId('REF').toUpperCase(),
      status: this.refundStatus,
      amount: { currency_code: currency, value: toMajorString(amount, currency) },
      ...(typeof body.custom_id === 'string' && { custom_id: body.custom_id }),
      links: [{ href: `${API}/v2/payments/captures/${captureId}`, rel: 'up', method: 'GET' }],
      create_time: new Date().toISOString(),
      captureId,
    };
    this.refunds.set(refund.id, refund);
    const { captureId: _drop, ...wire } = refund;
    const unit = this.orders.get(found.orderId)!.purchase_units[0]!;
    unit.payments!.refunds = [...(unit.payments!.refunds ?? []), wire];
    capture.status = refunded + amount >= total ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    return { status: 201, body: wire };
  }

  private verify(body: Json): Reply {
    const ok =
      body.webhook_id === this.webhookId &&
      typeof body.transmission_sig === 'string' &&
      body.transmission_sig ===
        this.sign(String(body.transmission_id), String(body.transmission_time), this.webhookId, body.webhook_event);
    return { status: 200, body: { verification_status: ok ? 'SUCCESS' : 'FAILURE' } };
  }
}

function notFound(id: string): Reply {
  return {
    status: 404,
    body: {
      name: 'RESOURCE_NOT_FOUND',
      message: 'The specified resource does not exist.',
      debug_id: 'emu',
      details: [{ issue: 'INVALID_RESOURCE_ID', description: `Specified resource ID ${id} does not exist.` }],
    },
  };
}

function unprocessable(issue: string, description: string): Reply {
  return {
    status: 422,
    body: {
      name: 'UNPROCESSABLE_ENTITY',
      message: 'The requested action could not be performed.',
      debug_id: 'emu',
      details: [{ issue, description }],
    },
  };
}
