import { randomBytes } from 'node:crypto';
import { fromMajorString } from '../../src/domain/money.js';
import type { MollieSettings } from '../../src/payments/mollie-client.js';
import { fingerprint, HttpEmulator, type ProviderPayment, type RecordedRequest, type Reply } from './http-emulator.js';
import { throwAwayTls } from './tls.js';

/**
 * Mollie's API v2 (payments, their refunds, captures and chargebacks) as @mollie/api-client 4.6
 * sees it, over HTTPS only (the library speaks nothing else) with a certificate from a throw-away
 * CA (`caFile`, for NODE_EXTRA_CA_CERTS): `Authorization: Bearer test_…`, HAL JSON
 * (`application/hal+json`, `_links`, lists under `_embedded`), amounts `{currency, value}` with the
 * currency's own decimals ("10.00", "1500" for JPY; another number of decimals is a 422),
 * `Idempotency-Key` replay, errors `{status, title, detail, field}`.
 *
 * Every payment starts `open` with a `_links.checkout`; the customer's visit is `customerPays`
 * (paid, authorized with `captureMode: manual`, failed, canceled, expired). Webhooks carry only the
 * payment's id (`webhook(id)`), as Mollie's do.
 */
interface Amount {
  currency: string;
  value: string;
}
interface MolliePayment {
  resource: 'payment';
  id: string;
  mode: 'test';
  createdAt: string;
  amount: Amount;
  description: string;
  method: string | null;
  metadata: unknown;
  status: 'open' | 'pending' | 'authorized' | 'paid' | 'canceled' | 'expired' | 'failed';
  isCancelable: boolean;
  expiresAt?: string;
  authorizedAt?: string;
  paidAt?: string;
  captureBefore?: string;
  captureMode?: string;
  profileId: string;
  sequenceType: 'oneoff';
  redirectUrl: string;
  webhookUrl?: string;
  details: Record<string, unknown> | null;
  amountRefunded: Amount;
  amountCaptured: Amount;
  _links: Record<string, { href: string; type: string }>;
}
interface MollieRefund {
  resource: 'refund';
  id: string;
  amount: Amount;
  status: 'queued' | 'pending' | 'processing' | 'refunded' | 'failed' | 'canceled';
  createdAt: string;
  description: string;
  metadata: unknown;
  paymentId: string;
  _links: Record<string, { href: string; type: string }>;
}
interface MollieCapture {
  resource: 'capture';
  id: string;
  mode: 'test';
  amount: Amount;
  status: 'pending' | 'succeeded' | 'failed';
  metadata: unknown;
  paymentId: string;
  createdAt: string;
  _links: Record<string, { href: string; type: string }>;
}
interface MollieChargeback {
  resource: 'chargeback';
  id: string;
  amount: Amount;
  reason: { code: string; description: string } | null;
  createdAt: string;
  reversedAt: string | null;
  /** Present once Mollie deducted it from a payout; `settlementAmount` is then negative. */
  settlementId?: string;
  settlementAmount?: Amount;
  paymentId: string;
  _links: Record<string, { href: string; type: string }>;
}

const CANCELABLE = new Set(['banktransfer', 'directdebit']);

export class MollieEmulator extends HttpEmulator {
  readonly apiKey = `test_${randomBytes(15).toString('hex')}`;
  readonly caFile: string;
  readonly payments = new Map<string, MolliePayment>();
  readonly refunds: MollieRefund[] = [];
  readonly captures: MollieCapture[] = [];
  readonly chargebacks: MollieChargeback[] = [];
  refundStatus: 'succeeded' | 'pending' | 'failed' = 'succeeded';
  /** How long a checkout nobody completes stays `open` before Mollie expires it (15 minutes, as Mollie's). */
  checkoutExpiresMs = 15 * 60_000;
  private readonly stored = new Map<string, { fingerprint: string; reply: Reply }>();

  constructor() {
    const tls = throwAwayTls();
    super((req, url) => this.route(req, url), tls);
    this.caFile = tls.caFile;
  }

  settings(): MollieSettings {
    return { apiKey: this.apiKey, apiBase: `${this.url}/v2/` };
  }

  forgetIdempotencyKeys(): void {
    this.stored.clear();
  }

  paymentOf(transactionId: string): MolliePayment | undefined {
    return [...this.payments.values()].find(
      (p) => (p.metadata as { transaction_id?: string } | null)?.transaction_id === transactionId,
    );
  }

  /** The customer at Mollie's checkout: the payment moves as the bank or card scheme decided. */
  customerPays(id: string, outcome: 'paid' | 'authorized' | 'failed' | 'canceled' | 'expired'): void {
    const p = this.payments.get(id)!;
    const now = new Date().toISOString();
    const status = outcome === 'paid' && p.captureMode === 'manual' ? 'authorized' : outcome;
    p.status = status;
    p.isCancelable = false;
    delete p._links.checkout;
    if (status === 'paid') {
      p.paidAt = now;
      p.amountCaptured = p.amount;
    }
    if (status === 'authorized') {
      p.authorizedAt = now;
      p.captureBefore = new Date(Date.now() + 28 * 86_400_000).toISOString();
    }
    if (status === 'failed') p.details = { failureReason: 'insufficient_funds' };
  }

  /** The body Mollie posts to the webhookUrl: only the id. */
  webhook(id: string): { body: string; headers: Record<string, string> } {
    return {
      body: new URLSearchParams({ id }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  expireAuthorization(id: string): void {
    const p = this.payments.get(id)!;
    if (p.status === 'authorized') p.status = 'expired';
  }

  capturedAmount(id: string): number {
    const p = this.payments.get(id);
    return p ? fromMajorString(p.amountCaptured.value, p.amountCaptured.currency) : 0;
  }

  chargesFor(transactionId: string): number {
    const p = this.paymentOf(transactionId);
    return p && (p.status === 'paid' || p.status === 'authorized') ? 1 : 0;
  }

  refundsOf(id: string): MollieRefund[] {
    return this.refunds.filter((r) => r.paymentId === id);
  }

  settleRefunds(): void {
    for (const r of this.refunds)
      if (r.status === 'pending' || r.status === 'queued' || r.status === 'processing') r.status = 'refunded';
  }

  /** A refund made in the Mollie Dashboard: never more than is left. */
  dashboardRefund(id: string, minor: number): MollieRefund {
    const p = this.payments.get(id)!;
    const left = this.minor(p.amountCaptured) - this.refundedOf(p);
    if (minor > left) throw new Error(`mollie: ${id} has ${left} left`);
    return this.addRefund(
      p,
      this.amount(minor, p.amount.currency),
      'Refunded in the Mollie Dashboard',
      null,
      'refunded',
    );
  }

  openDispute(id: string, minor: number): MollieChargeback {
    const p = this.payments.get(id)!;
    const c: MollieChargeback = {
      resource: 'chargeback',
      id: `chb_${token()}`,
      amount: this.amount(minor, p.amount.currency),
      reason: { code: 'AC04', description: 'Account closed' },
      createdAt: new Date().toISOString(),
      reversedAt: null,
      paymentId: id,
      _links: {},
    };
    this.chargebacks.push(c);
    return c;
  }

  /**
   * How Mollie ends a chargeback: `won` reverses it (`reversedAt`, the money back to the merchant),
   * `lost` settles it unreversed (`settlementId`: deducted from a payout). Mollie calls the webhook
   * for the reversal; a test sends it for the settlement, as Mollie's next call for the payment would.
   */
  settleDispute(chargebackId: string, outcome: 'won' | 'lost' = 'won'): void {
    const c = this.chargebacks.find((x) => x.id === chargebackId)!;
    if (outcome === 'won') c.reversedAt = new Date().toISOString();
    else {
      c.settlementId = `stl_${token()}`;
      c.settlementAmount = { currency: c.amount.currency, value: `-${c.amount.value}` };
    }
  }

  /** Each payment as the audit compares it with our ledger (http-emulator.ts ProviderPayment). */
  protected override records(): ProviderPayment[] {
    return [...this.payments.values()].map((p) => {
      const captured = this.minor(p.amountCaptured);
      const made = this.captures.filter((c) => c.paymentId === p.id && c.status === 'succeeded');
      const named = (m: unknown, key: string) => ((m as Record<string, unknown> | null)?.[key] as string) ?? null;
      return {
        id: p.id,
        transactionId: named(p.metadata, 'transaction_id'),
        currency: p.amount.currency,
        held: p.status === 'authorized' ? this.minor(p.amount) : 0,
        captured,
        captures: made.length
          ? made.map((c) => ({ id: c.id, amount: this.minor(c.amount), ledgerId: named(c.metadata, 'capture_id') }))
          : captured > 0
            ? [{ id: p.id, amount: captured, ledgerId: null }]
            : [],
        refunds: this.refundsOf(p.id).map((r) => ({
          id: r.id,
          amount: this.minor(r.amount),
          status:
            r.status === 'refunded'
              ? ('succeeded' as const)
              : r.status === 'failed' || r.status === 'canceled'
                ? ('failed' as const)
                : ('pending' as const),
          ledgerId: named(r.metadata, 'refund_id'),
        })),
      };
    });
  }

  private minor(a: Amount): number {
    return fromMajorString(a.value, a.currency);
  }

  private refundedOf(p: MolliePayment): number {
    return this.refundsOf(p.id)
      .filter((r) => r.status !== 'failed' && r.status !== 'canceled')
      .reduce((n, r) => n + this.minor(r.amount), 0);
  }

  private amount(minor: number, currency: string): Amount {
    const exponent = currency === 'JPY' ? 0 : currency === 'KWD' ? 3 : 2;
    return { currency, value: (minor / 10 ** exponent).toFixed(exponent) };
  }

  private route(req: RecordedRequest, url: URL): Reply {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`)
      return problem(401, 'Unauthorized Request', 'Missing authentication, or failed to authenticate');
    let body: Record<string, unknown> = {};
    try {
      if (req.body) body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return problem(400, 'Bad Request', 'The request body is not valid JSON');
    }
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && (req.method === 'POST' || req.method === 'DELETE')) {
      const seen = this.stored.get(key);
      const print = fingerprint([req.method, url.pathname, body]);
      if (seen)
        return seen.fingerprint === print
          ? seen.reply
          : problem(422, 'Unprocessable Entity', 'The idempotency key was used for another request');
      const reply = this.dispatch(req.method, url, body);
      if (reply.status < 500) this.stored.set(key, { fingerprint: print, reply });
      return reply;
    }
    return this.dispatch(req.method, url, body);
  }

  /** Mollie expires an open payment at its `expiresAt`: seen so by whoever reads it next. */
  private expireDue(): void {
    const now = new Date().toISOString();
    for (const p of this.payments.values())
      if (p.status === 'open' && p.expiresAt && p.expiresAt < now) {
        p.status = 'expired';
        p.isCancelable = false;
        delete p._links.checkout;
      }
  }

  private dispatch(method: string, url: URL, body: Record<string, unknown>): Reply {
    this.expireDue();
    const path = url.pathname.replace(/^\/v2/, '');
    if (path === '/payments' && method === 'POST') return this.create(body);
    if (path === '/payments' && method === 'GET')
      return this.list('payments', [...this.payments.values()].reverse(), url);
    const m = /^\/payments\/(tr_[A-Za-z0-9]+)(?:\/([a-z-]+))?$/.exec(path);
    const p = m ? this.payments.get(m[1]!) : undefined;
    if (!m || !p) return problem(404, 'Not Found', 'No payment exists with token ' + (m?.[1] ?? path));
    const sub = m[2];
    if (!sub && method === 'GET') return ok(p);
    if (!sub && method === 'DELETE') {
      if (!p.isCancelable) return problem(422, 'Unprocessable Entity', 'The payment cannot be canceled');
      p.status = 'canceled';
      p.isCancelable = false;
      return ok(p);
    }
    if (sub === 'release-authorization' && method === 'POST') {
      if (p.status !== 'authorized')
        return problem(422, 'Unprocessable Entity', 'The payment authorization cannot be released');
      p.status = 'canceled';
      return { status: 202, body: '' };
    }
    if (sub === 'refunds')
      return method === 'POST' ? this.refund(p, body) : this.list('refunds', this.refundsOf(p.id), url);
    if (sub === 'captures')
      return method === 'POST'
        ? this.capture(p, body)
        : this.list(
            'captures',
            this.captures.filter((c) => c.paymentId === p.id),
            url,
          );
    if (sub === 'chargebacks' && method === 'GET')
      return this.list(
        'chargebacks',
        this.chargebacks.filter((c) => c.paymentId === p.id),
        url,
      );
    return problem(404, 'Not Found', `No route ${method} ${url.pathname}`);
  }

  private parseAmount(value: unknown): { amount: Amount; minor: number } | Reply {
    const a = value as Partial<Amount> | undefined;
    if (!a || typeof a.currency !== 'string' || typeof a.value !== 'string')
      return problem(422, 'Unprocessable Entity', 'The amount is required', 'amount');
    const exponent = a.currency === 'JPY' ? 0 : a.currency === 'KWD' ? 3 : 2;
    const shape = exponent === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${exponent}}$`);
    if (!shape.test(a.value))
      return problem(
        422,
        'Unprocessable Entity',
        `The amount contains an invalid value for ${a.currency}`,
        'amount.value',
      );
    return { amount: { currency: a.currency, value: a.value }, minor: fromMajorString(a.value, a.currency) };
  }

  private create(body: Record<string, unknown>): Reply {
    const parsed = this.parseAmount(body.amount);
    if ('status' in parsed) return parsed;
    if (typeof body.redirectUrl !== 'string')
      return problem(422, 'Unprocessable Entity', 'The redirect URL is required', 'redirectUrl');
    const id = `tr_${token()}`;
    const method = typeof body.method === 'string' ? body.method : null;
    const zero = { currency: parsed.amount.currency, value: this.amount(0, parsed.amount.currency).value };
    const p: MolliePayment = {
      resource: 'payment',
      id,
      mode: 'test',
      createdAt: new Date().toISOString(),
      amount: parsed.amount,
      description: String(body.description ?? ''),
      method,
      metadata: body.metadata ?? null,
      status: 'open',
      isCancelable: method !== null && CANCELABLE.has(method),
      expiresAt: new Date(Date.now() + this.checkoutExpiresMs).toISOString(),
      profileId: 'pfl_emulator',
      sequenceType: 'oneoff',
      redirectUrl: body.redirectUrl,
      ...(typeof body.webhookUrl === 'string' ? { webhookUrl: body.webhookUrl } : {}),
      ...(body.captureMode === 'manual' ? { captureMode: 'manual' } : {}),
      details: null,
      amountRefunded: zero,
      amountCaptured: zero,
      _links: {
        self: { href: `${this.url}/v2/payments/${id}`, type: 'application/hal+json' },
        checkout: { href: `${this.url}/checkout/select-method/${id.slice(3)}`, type: 'text/html' },
      },
    };
    this.payments.set(id, p);
    return { status: 201, body: p, headers: HAL };
  }

  private refund(p: MolliePayment, body: Record<string, unknown>): Reply {
    const parsed = this.parseAmount(body.amount);
    if ('status' in parsed) return parsed;
    const captured = this.minor(p.amountCaptured);
    const refunded = this.refundedOf(p);
    if (p.status !== 'paid' || parsed.minor > captured - refunded)
      return problem(422, 'Unprocessable Entity', 'The refund amount is higher than the remaining amount', 'amount');
    const status =
      this.refundStatus === 'succeeded' ? 'refunded' : this.refundStatus === 'failed' ? 'failed' : 'pending';
    return {
      status: 201,
      body: this.addRefund(p, parsed.amount, String(body.description ?? ''), body.metadata ?? null, status),
      headers: HAL,
    };
  }

  private addRefund(
    p: MolliePayment,
    amount: Amount,
    description: string,
    metadata: unknown,
    status: MollieRefund['status'],
  ): MollieRefund {
    const r: MollieRefund = {
      resource: 'refund',
      id: `re_${token()}`,
      amount,
      status,
      createdAt: new Date().toISOString(),
      description,
      metadata,
      paymentId: p.id,
      _links: {},
    };
    this.refunds.push(r);
    return r;
  }

  private capture(p: MolliePayment, body: Record<string, unknown>): Reply {
    if (p.status !== 'authorized')
      return problem(422, 'Unprocessable Entity', `The payment is ${p.status} and cannot be captured`);
    const parsed =
      body.amount === undefined
        ? { amount: p.amount, minor: fromMajorString(p.amount.value, p.amount.currency) }
        : this.parseAmount(body.amount);
    if ('status' in parsed) return parsed;
    if (parsed.minor > fromMajorString(p.amount.value, p.amount.currency))
      return problem(422, 'Unprocessable Entity', 'The capture amount is higher than the authorized amount', 'amount');
    const c: MollieCapture = {
      resource: 'capture',
      id: `cpt_${token()}`,
      mode: 'test',
      amount: parsed.amount,
      status: 'succeeded',
      metadata: body.metadata ?? null,
      paymentId: p.id,
      createdAt: new Date().toISOString(),
      _links: {},
    };
    this.captures.push(c);
    p.status = 'paid';
    p.paidAt = c.createdAt;
    p.amountCaptured = parsed.amount;
    return { status: 201, body: c, headers: HAL };
  }

  private list(name: string, items: unknown[], url: URL): Reply {
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const page = items.slice(0, limit);
    return {
      status: 200,
      body: {
        count: page.length,
        _embedded: { [name]: page },
        _links: { self: { href: url.href, type: 'application/hal+json' }, previous: null, next: null },
      },
      headers: HAL,
    };
  }
}

const HAL = { 'content-type': 'application/hal+json' };

function ok(body: unknown): Reply {
  return { status: 200, body, headers: HAL };
}

function problem(status: number, title: string, detail: string, field?: string): Reply {
  return {
    status,
    body: {
      status,
      title,
      detail,
      ...(field ? { field } : {}),
      _links: { documentation: { href: 'https://docs.mollie.com/overview/handling-errors', type: 'text/html' } },
    },
    headers: HAL,
  };
}

function token(): string {
  return randomBytes(8)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 10);
}
