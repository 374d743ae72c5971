import { createHmac, randomUUID } from 'node:crypto';
import type { SquareSettings } from '../../src/payments/square.js';
import {
  fingerprint,
  HttpEmulator,
  idFactory,
  type ProviderPayment,
  type RecordedRequest,
  type Reply,
} from './http-emulator.js';

/**
 * Square's v2 Payments and Refunds APIs as the SDK sees them: snake_case JSON,
 * money as integer minor units, `{errors: [{category, code, detail}]}` failures,
 * `idempotency_key` replay (same key + other body → IDEMPOTENCY_KEY_REUSED).
 * A declined payment is kept with status FAILED, as Square does, so it can be
 * listed. Sandbox nonces use Square's names (cnon:card-nonce-ok, …-declined).
 *
 * Delayed capture as Square does it: `autocomplete: false` leaves the payment
 * APPROVED (card AUTHORIZED) until `delayed_until`, 7 days on, when its
 * `delay_action` CANCEL voids it (`expireAuthorization` makes that happen now);
 * CompletePayment captures the whole `amount_money`, so capturing less is
 * UpdatePayment with a lower amount first (never above `approved_money`);
 * CancelPayment voids. Dashboard refunds and disputes come with the signed
 * webhooks Square sends.
 */
interface Money {
  amount: number;
  currency: string;
}
interface Payment {
  id: string;
  status: string;
  amount_money: Money;
  total_money: Money;
  approved_money: Money;
  location_id: string;
  reference_id?: string;
  note?: string;
  source_type: 'CARD';
  card_details: { status: string; errors?: SquareErr[] };
  refund_ids: string[];
  refunded_money?: Money;
  delay_duration?: string;
  delay_action?: string;
  delayed_until?: string;
  version_token: string;
  created_at: string;
  updated_at: string;
}
interface Dispute {
  id: string;
  dispute_id: string;
  amount_money: Money;
  reason: string;
  state: string;
  disputed_payment: { payment_id: string };
  card_brand: string;
  location_id: string;
  created_at: string;
  updated_at: string;
  version: number;
}
type Delivery = { body: string; headers: Record<string, string>; id: string };
interface Refund {
  id: string;
  status: string;
  amount_money: Money;
  payment_id: string;
  location_id: string;
  reason?: string;
  created_at: string;
}
/** What the emulator remembers beside a refund: the idempotency key it was made with (none from the dashboard). */
const refundKeys = new WeakMap<Refund, string>();
interface SquareErr {
  category: string;
  code: string;
  detail?: string;
  field?: string;
}

const DECLINES: Record<string, SquareErr> = {
  'cnon:card-nonce-declined': {
    category: 'PAYMENT_METHOD_ERROR',
    code: 'GENERIC_DECLINE',
    detail: 'Authorization error: GENERIC_DECLINE',
  },
  'cnon:card-nonce-rejected-cvv': {
    category: 'PAYMENT_METHOD_ERROR',
    code: 'CVV_FAILURE',
    detail: 'Authorization error: CVV_FAILURE',
  },
  'cnon:card-nonce-rejected-postalcode': { category: 'PAYMENT_METHOD_ERROR', code: 'ADDRESS_VERIFICATION_FAILURE' },
  'cnon:card-nonce-rejected-expiration': { category: 'PAYMENT_METHOD_ERROR', code: 'INVALID_EXPIRATION' },
};

export class SquareEmulator extends HttpEmulator {
  readonly accessToken = 'EAAA-emulator-token';
  readonly locationId = 'L-EMULATOR';
  readonly webhookSignatureKey = 'square-emulator-signature-key';
  readonly webhookUrl = 'https://orders.example.com/api/webhooks/square';
  readonly payments = new Map<string, Payment>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  /** ListPayments page size, small in tests to prove the provider walks every page. */
  pageSize = 100;
  refundStatus: 'COMPLETED' | 'PENDING' | 'FAILED' = 'COMPLETED';
  private errorsIn200 = 0;
  private readonly declines = new Map(Object.entries(DECLINES));
  private readonly stored = new Map<string, { fingerprint: string; reply: Reply }>();
  private readonly newId = idFactory();

  constructor() {
    super((req, url) => this.route(req, url));
  }

  settings(): SquareSettings {
    return {
      accessToken: this.accessToken,
      locationId: this.locationId,
      apiBase: this.url,
      webhookSignatureKey: this.webhookSignatureKey,
      webhookUrl: this.webhookUrl,
    };
  }

  /** Square does not publish how long it keeps keys: after this, a repeated request is executed anew. */
  forgetIdempotencyKeys(): void {
    this.stored.clear();
  }

  settleRefunds(): void {
    for (const r of this.refunds.values()) if (r.status === 'PENDING') r.status = 'COMPLETED';
  }

  decline(token: string, code: string, category = 'PAYMENT_METHOD_ERROR'): void {
    this.declines.set(token, { category, code });
  }

  /** The next `n` money-moving calls answer HTTP 200 with an `errors` array and no object. */
  errorsWith200Next(n: number): void {
    this.errorsIn200 += n;
  }

  chargesFor(transactionId: string): number {
    return [...this.payments.values()].filter((p) => p.reference_id === transactionId && p.status === 'COMPLETED')
      .length;
  }

  refundsFor(paymentId: string): Refund[] {
    return [...this.refunds.values()].filter((r) => r.payment_id === paymentId);
  }

  capturedAmount(paymentId: string): number {
    const p = this.payments.get(paymentId);
    return p?.status === 'COMPLETED' ? p.total_money.amount : 0;
  }

  /** The delay runs out: Square applies the delay action (CANCEL) to the authorized payment. */
  expireAuthorization(paymentId: string): void {
    const p = this.payments.get(paymentId);
    if (p?.status !== 'APPROVED') throw new Error(`${paymentId} is not awaiting capture`);
    const at = new Date().toISOString();
    Object.assign(p, {
      status: 'CANCELED',
      card_details: { status: 'VOIDED' },
      delayed_until: new Date(Date.now() - 1000).toISOString(),
      updated_at: at,
    });
  }

  /** A refund made in the Square Dashboard: returns the webhooks Square sends (`refund.created`, `payment.updated`). */
  dashboardRefund(
    paymentId: string,
    amount: number,
    status = 'COMPLETED',
  ): { refund: Refund; refundCreated: Delivery; paymentUpdated: Delivery } {
    const p = this.payments.get(paymentId);
    if (!p || p.status !== 'COMPLETED') throw new Error(`${paymentId} is not completed`);
    // The dashboard refuses more than is left, as the API does.
    const left =
      p.total_money.amount -
      this.refundsFor(p.id)
        .filter((r) => r.status !== 'FAILED' && r.status !== 'REJECTED')
        .reduce((s, r) => s + r.amount_money.amount, 0);
    if (amount > left) throw new Error('more than is left to refund');
    const refund = this.addRefund(p, { amount, currency: p.total_money.currency }, status, 'Requested by customer');
    return {
      refund,
      refundCreated: this.webhook('refund.created', { refund }),
      paymentUpdated: this.webhook('payment.updated', { payment: p }),
    };
  }

  /** A refund changes state at Square (a pending one completes or fails): returns its `refund.updated`. */
  updateRefund(refundId: string, status: string): Delivery {
    const refund = this.refunds.get(refundId);
    if (!refund) throw new Error(`no refund ${refundId}`);
    refund.status = status;
    return this.webhook('refund.updated', { refund });
  }

  /** The cardholder disputes the payment: returns `dispute.created`. */
  openDispute(paymentId: string, amount?: number): { dispute: Dispute; delivery: Delivery } {
    const p = this.payments.get(paymentId);
    if (!p || p.status !== 'COMPLETED') throw new Error(`${paymentId} is not completed`);
    const at = new Date().toISOString();
    const id = this.newId('dsp_');
    const dispute: Dispute = {
      id,
      dispute_id: id,
      amount_money: { amount: amount ?? p.total_money.amount, currency: p.total_money.currency },
      reason: 'NOT_AS_DESCRIBED',
      state: 'EVIDENCE_REQUIRED',
      disputed_payment: { payment_id: p.id },
      card_brand: 'VISA',
      location_id: p.location_id,
      created_at: at,
      updated_at: at,
      version: 1,
    };
    this.disputes.set(id, dispute);
    return { dispute, delivery: this.webhook('dispute.created', { dispute }) };
  }

  /** The dispute moves on (PROCESSING, WON, LOST, ACCEPTED): returns `dispute.state.updated`. */
  settleDispute(disputeId: string, state: string): Delivery {
    const dispute = this.disputes.get(disputeId);
    if (!dispute) throw new Error(`no dispute ${disputeId}`);
    Object.assign(dispute, { state, updated_at: new Date().toISOString(), version: dispute.version + 1 });
    return this.webhook('dispute.state.updated', { dispute });
  }

  protected override records(): ProviderPayment[] {
    return [...this.payments.values()].map((p) => {
      const captured = p.status === 'COMPLETED' ? p.total_money.amount : 0;
      return {
        id: p.id,
        transactionId: p.reference_id ?? null,
        currency: p.total_money.currency,
        held: p.status === 'APPROVED' ? p.amount_money.amount : 0,
        captured,
        captures: captured > 0 ? [{ id: p.id, amount: captured, ledgerId: null }] : [],
        refunds: this.refundsFor(p.id).map((r) => ({
          id: r.id,
          amount: r.amount_money.amount,
          status: r.status === 'COMPLETED' ? 'succeeded' : r.status === 'PENDING' ? 'pending' : 'failed',
          ledgerId: refundKeys.get(r)?.replace(/^refund-/, '') ?? null,
        })),
      };
    });
  }

  /** A webhook as Square sends it: HMAC-SHA256 (base64) of notification URL + raw body. */
  webhook(type: string, object: Record<string, unknown>, key = this.webhookSignatureKey): Delivery {
    const id = randomUUID();
    const [kind] = type.split('.');
    const body = JSON.stringify({
      merchant_id: 'M-EMULATOR',
      type,
      event_id: id,
      created_at: new Date().toISOString(),
      data: { type: kind, id: randomUUID(), object },
    });
    const signature = createHmac('sha256', key)
      .update(this.webhookUrl + body)
      .digest('base64');
    return { id, body, headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': signature } };
  }

  private route(req: RecordedRequest, url: URL): Reply {
    if (req.headers.authorization !== `Bearer ${this.accessToken}`)
      return fail(401, 'AUTHENTICATION_ERROR', 'UNAUTHORIZED');
    const body = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
    if (req.method === 'POST' && (req.path === '/v2/payments' || req.path === '/v2/refunds'))
      return this.idempotent(req.path, body);
    const one = /^\/v2\/(payments|refunds)\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && one) {
      const found = one[1] === 'payments' ? this.payments.get(one[2]!) : this.refunds.get(one[2]!);
      if (!found) return fail(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Could not find ${one[1]} ${one[2]}`);
      return { status: 200, body: one[1] === 'payments' ? { payment: found } : { refund: found } };
    }
    if (req.method === 'GET' && req.path === '/v2/payments') return this.list(url);
    if (req.method === 'GET' && req.path === '/v2/disputes') return this.listDisputes(url);
    const action = /^\/v2\/payments\/([^/]+)(?:\/(complete|cancel))?$/.exec(req.path);
    const payment = action && this.payments.get(action[1]!);
    if (action && !payment && req.method !== 'GET')
      return fail(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Could not find payment ${action[1]}`);
    if (payment && req.method === 'PUT' && !action![2]) return this.update(payment, body);
    if (payment && req.method === 'POST' && action![2] === 'complete') return this.complete(payment, body);
    if (payment && req.method === 'POST' && action![2] === 'cancel') return this.cancel(payment);
    return fail(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `no route ${req.method} ${req.path}`);
  }

  private idempotent(path: string, body: Record<string, unknown>): Reply {
    const key = body.idempotency_key;
    if (typeof key !== 'string' || key.length < 1 || key.length > 45)
      return fail(400, 'INVALID_REQUEST_ERROR', 'INVALID_VALUE', 'idempotency_key', 'idempotency_key');
    const money = body.amount_money as Money | undefined;
    if (!money || !Number.isSafeInteger(money.amount) || money.amount < 1)
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'INVALID_VALUE',
        'amount_money.amount must be an integer',
        'amount_money.amount',
      );
    const print = fingerprint({ path, body });
    const previous = this.stored.get(`${path} ${key}`);
    if (previous && previous.fingerprint !== print) return fail(400, 'INVALID_REQUEST_ERROR', 'IDEMPOTENCY_KEY_REUSED');
    if (previous) return previous.reply;
    if (this.errorsIn200 > 0) {
      this.errorsIn200--;
      return {
        status: 200,
        body: { errors: [{ category: 'API_ERROR', code: 'INTERNAL_SERVER_ERROR', detail: 'injected' }] },
      };
    }
    const reply = path === '/v2/payments' ? this.createPayment(body, money) : this.createRefund(body, money);
    if (reply.status === 200 || (reply.body as { payment?: unknown }).payment)
      this.stored.set(`${path} ${key}`, { fingerprint: print, reply });
    return reply;
  }

  private createPayment(body: Record<string, unknown>, money: Money): Reply {
    const source = String(body.source_id ?? '');
    if (source === 'cnon:card-nonce-already-used')
      return fail(400, 'INVALID_REQUEST_ERROR', 'CARD_TOKEN_USED', 'Card nonce already used', 'source_id');
    if (typeof body.reference_id === 'string' && body.reference_id.length > 40)
      return fail(400, 'INVALID_REQUEST_ERROR', 'VALUE_TOO_LONG', 'reference_id', 'reference_id');
    const decline = this.declines.get(source);
    const delayed = body.autocomplete === false && !decline;
    const at = new Date().toISOString();
    const payment: Payment = {
      id: this.newId('sqpay_'),
      status: decline ? 'FAILED' : delayed ? 'APPROVED' : 'COMPLETED',
      amount_money: money,
      total_money: money,
      approved_money: money,
      location_id: String(body.location_id ?? this.locationId),
      source_type: 'CARD',
      version_token: this.newId('v'),
      card_details: decline ? { status: 'FAILED', errors: [decline] } : { status: delayed ? 'AUTHORIZED' : 'CAPTURED' },
      refund_ids: [],
      created_at: at,
      updated_at: at,
      ...(delayed && {
        delay_duration: 'P7D',
        delay_action: 'CANCEL',
        delayed_until: new Date(Date.now() + 7 * 24 * 3600_000).toISOString(),
      }),
      ...(typeof body.reference_id === 'string' && { reference_id: body.reference_id }),
      ...(typeof body.note === 'string' && { note: body.note }),
    };
    this.payments.set(payment.id, payment);
    return decline ? { status: 400, body: { errors: [decline], payment } } : { status: 200, body: { payment } };
  }

  private createRefund(body: Record<string, unknown>, money: Money): Reply {
    const payment = this.payments.get(String(body.payment_id ?? ''));
    if (!payment) return fail(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', 'payment not found', 'payment_id');
    const refunded = this.refundsFor(payment.id)
      .filter((r) => r.status !== 'FAILED' && r.status !== 'REJECTED')
      .reduce((s, r) => s + r.amount_money.amount, 0);
    if (payment.status !== 'COMPLETED' || money.amount > payment.total_money.amount - refunded) {
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'REFUND_AMOUNT_INVALID',
        'The requested refund amount exceeds the amount available to refund.',
      );
    }
    const refund = this.addRefund(
      payment,
      money,
      this.refundStatus,
      typeof body.reason === 'string' ? body.reason : undefined,
    );
    refundKeys.set(refund, String(body.idempotency_key));
    return { status: 200, body: { refund } };
  }

  private addRefund(payment: Payment, money: Money, status: string, reason: string | undefined): Refund {
    const refund: Refund = {
      id: this.newId('sqref_'),
      status,
      amount_money: money,
      payment_id: payment.id,
      location_id: payment.location_id,
      created_at: new Date().toISOString(),
      ...(reason !== undefined && { reason }),
    };
    this.refunds.set(refund.id, refund);
    payment.refund_ids.push(refund.id);
    const refunded = this.refundsFor(payment.id)
      .filter((r) => r.status !== 'FAILED' && r.status !== 'REJECTED')
      .reduce((s, r) => s + r.amount_money.amount, 0);
    payment.refunded_money = { amount: refunded, currency: money.currency };
    return refund;
  }

  /** UpdatePayment: only an APPROVED payment, only its amount, never above what the card approved. */
  private update(payment: Payment, body: Record<string, unknown>): Reply {
    const key = body.idempotency_key;
    if (typeof key !== 'string' || key.length < 1 || key.length > 45)
      return fail(400, 'INVALID_REQUEST_ERROR', 'INVALID_VALUE', 'idempotency_key', 'idempotency_key');
    const print = fingerprint({ path: payment.id, body });
    const previous = this.stored.get(`update ${key}`);
    if (previous && previous.fingerprint !== print) return fail(400, 'INVALID_REQUEST_ERROR', 'IDEMPOTENCY_KEY_REUSED');
    if (previous) return previous.reply;
    if (payment.status !== 'APPROVED')
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'BAD_REQUEST',
        `Payment ${payment.id} is ${payment.status}; only an APPROVED payment can be updated.`,
      );
    const money = (body.payment as { amount_money?: Money } | undefined)?.amount_money;
    if (
      !money ||
      !Number.isSafeInteger(money.amount) ||
      money.amount < 1 ||
      money.currency !== payment.approved_money.currency
    ) {
      return fail(400, 'INVALID_REQUEST_ERROR', 'INVALID_VALUE', 'payment.amount_money', 'payment.amount_money');
    }
    if (money.amount > payment.approved_money.amount)
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'AMOUNT_TOO_HIGH',
        'The amount exceeds the approved amount.',
        'payment.amount_money',
      );
    Object.assign(payment, {
      amount_money: money,
      total_money: money,
      version_token: this.newId('v'),
      updated_at: new Date().toISOString(),
    });
    const reply = { status: 200, body: { payment: structuredClone(payment) } };
    this.stored.set(`update ${key}`, { fingerprint: print, reply });
    return reply;
  }

  private complete(payment: Payment, body: Record<string, unknown>): Reply {
    if (payment.status !== 'APPROVED')
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'BAD_REQUEST',
        `Payment ${payment.id} is ${payment.status}; only an APPROVED payment can be completed.`,
      );
    if (typeof body.version_token === 'string' && body.version_token !== payment.version_token)
      return fail(400, 'INVALID_REQUEST_ERROR', 'VERSION_MISMATCH');
    Object.assign(payment, {
      status: 'COMPLETED',
      card_details: { status: 'CAPTURED' },
      updated_at: new Date().toISOString(),
    });
    delete payment.delayed_until;
    return { status: 200, body: { payment: structuredClone(payment) } };
  }

  private cancel(payment: Payment): Reply {
    if (payment.status !== 'APPROVED')
      return fail(
        400,
        'INVALID_REQUEST_ERROR',
        'BAD_REQUEST',
        `Payment ${payment.id} is ${payment.status}; only an APPROVED payment can be canceled.`,
      );
    Object.assign(payment, {
      status: 'CANCELED',
      card_details: { status: 'VOIDED' },
      updated_at: new Date().toISOString(),
    });
    return { status: 200, body: { payment: structuredClone(payment) } };
  }

  private listDisputes(url: URL): Reply {
    const q = url.searchParams;
    const all = [...this.disputes.values()].filter(
      (d) =>
        (!q.get('location_id') || d.location_id === q.get('location_id')) &&
        (!q.get('states') || d.state === q.get('states')),
    );
    const start = Number(q.get('cursor') ?? 0);
    const next = start + this.pageSize < all.length ? String(start + this.pageSize) : undefined;
    return { status: 200, body: { disputes: all.slice(start, start + this.pageSize), ...(next && { cursor: next }) } };
  }

  private list(url: URL): Reply {
    const q = url.searchParams;
    const total = q.get('total');
    const all = [...this.payments.values()]
      .filter(
        (p) =>
          (!q.get('location_id') || p.location_id === q.get('location_id')) &&
          (total === null || p.total_money.amount === Number(total)),
      )
      .sort((a, b) => (q.get('sort_order') === 'ASC' ? 1 : -1) * a.created_at.localeCompare(b.created_at));
    const start = Number(q.get('cursor') ?? 0);
    const size = Math.min(Number(q.get('limit') ?? 100), this.pageSize);
    const next = start + size < all.length ? String(start + size) : undefined;
    return { status: 200, body: { payments: all.slice(start, start + size), ...(next && { cursor: next }) } };
  }
}

function fail(status: number, category: string, code: string, detail?: string, field?: string): Reply {
  return { status, body: { errors: [{ category, code, ...(detail && { detail }), ...(field && { field }) }] } };
}
