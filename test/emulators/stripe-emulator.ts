import Stripe from 'stripe';
import { obj, parseForm, str, type FormObject } from './form.js';
import { fingerprint, HttpEmulator, idFactory, type RecordedRequest, type Reply } from './http-emulator.js';

/**
 * Stripe's v1 API as the SDK sees it: form-encoded requests, JSON answers,
 * `{error: {type, code, decline_code}}` failures, and Idempotency-Key replay
 * (same key + same parameters → the stored answer, `Idempotent-Replayed: true`;
 * same key + other parameters → 400 idempotency_error). Answers are stored only
 * once the endpoint ran, as Stripe does, so an injected 500 is not replayed.
 *
 * Test cards (Stripe's names): pm_card_visa succeeds; pm_card_chargeDeclined,
 * pm_card_chargeDeclinedInsufficientFunds decline; any other `pm_…` succeeds;
 * anything else does not exist. `decline(token, code)` adds more.
 */
interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: string;
  payment_method: string;
  description: string | null;
  metadata: Record<string, string>;
  latest_charge: string | null;
  last_payment_error: { type: string; code: string; decline_code: string; message: string } | null;
  created: number;
  livemode: false;
}

interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string | null;
  status: string;
  metadata: Record<string, string>;
  created: number;
}

const now = () => Math.floor(Date.now() / 1000);

export class StripeEmulator extends HttpEmulator {
  readonly secretKey = 'sk_test_emulator';
  readonly webhookSecret = 'whsec_emulator_secret';
  readonly intents = new Map<string, PaymentIntent>();
  readonly refunds = new Map<string, Refund>();
  /** Status new refunds get (`pending` then `succeeded` later is how some methods behave). */
  refundStatus: 'succeeded' | 'pending' | 'failed' = 'succeeded';
  private readonly stored = new Map<string, { fingerprint: string; reply: Reply }>();
  private readonly declines = new Map<string, string>([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ]);
  private readonly newId = idFactory();

  constructor() {
    super((req, url) => this.route(req, url));
  }

  /** Stripe prunes keys after 24 hours: after this, a repeated request is executed anew. */
  forgetIdempotencyKeys(): void {
    this.stored.clear();
  }

  /** Pending refunds complete, as they eventually do at Stripe. */
  settleRefunds(): void {
    for (const r of this.refunds.values()) if (r.status === 'pending') r.status = 'succeeded';
  }

  decline(token: string, declineCode: string): void {
    this.declines.set(token, declineCode);
  }

  /** Succeeded charges made for one of our transactions (the number that must never exceed 1). */
  chargesFor(transactionId: string): number {
    return [...this.intents.values()].filter((pi) => pi.metadata.transaction_id === transactionId && pi.status === 'succeeded').length;
  }

  refundsFor(paymentIntent: string): Refund[] {
    return [...this.refunds.values()].filter((r) => r.payment_intent === paymentIntent);
  }

  /** A webhook delivery as Stripe sends it: the raw body and its `stripe-signature` header. */
  webhook(type: string, object: unknown, secret = this.webhookSecret): { body: string; headers: Record<string, string>; id: string } {
    const id = this.newId('evt_');
    const body = JSON.stringify({ id, object: 'event', type, api_version: '2026-10-28.endive', created: now(), livemode: false, data: { object } });
    return { id, body, headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret }) } };
  }

  private route(req: RecordedRequest, url: URL): Reply {
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return error(401, 'invalid_request_error', { message: 'Invalid API Key provided.' });
    }
    const form = parseForm(req.body);
    if (req.method === 'POST') {
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') return this.idempotent(key, req, form);
      return this.post(req.path, form);
    }
    return this.get(req.path, url);
  }

  private idempotent(key: string, req: RecordedRequest, form: FormObject): Reply {
    const print = fingerprint({ path: req.path, form });
    const previous = this.stored.get(key);
    if (previous && previous.fingerprint !== print) {
      return error(400, 'idempotency_error', {
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
      });
    }
    if (previous) return { ...previous.reply, headers: { ...previous.reply.headers, 'idempotent-replayed': 'true' } };
    const reply = this.post(req.path, form);
    // Only answers of an endpoint that ran are kept (Stripe does not store validation errors).
    if (reply.status === 200 || reply.status === 402) this.stored.set(key, { fingerprint: print, reply });
    return reply;
  }

  private post(path: string, form: FormObject): Reply {
    if (path === '/v1/payment_intents') return this.createIntent(form);
    if (path === '/v1/refunds') return this.createRefund(form);
    return error(404, 'invalid_request_error', { message: `Unrecognized request URL (POST: ${path})` });
  }

  private get(path: string, url: URL): Reply {
    if (path === '/v1/payment_intents/search') {
      const m = /metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'/.exec(url.searchParams.get('query') ?? '');
      const data = m ? [...this.intents.values()].filter((pi) => pi.metadata[m[1]!] === m[2]!.replace(/\\'/g, "'")) : [];
      return { status: 200, body: { object: 'search_result', data, has_more: false, next_page: null, url: path } };
    }
    const intent = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (intent) {
      const pi = this.intents.get(intent[1]!);
      return pi ? { status: 200, body: pi } : missing('payment_intent', intent[1]!);
    }
    if (path === '/v1/refunds') {
      const data = [...this.refunds.values()].filter((r) => r.payment_intent === url.searchParams.get('payment_intent')).reverse();
      return { status: 200, body: { object: 'list', data, has_more: false, url: path } };
    }
    return error(404, 'invalid_request_error', { message: `Unrecognized request URL (GET: ${path})` });
  }

  private createIntent(form: FormObject): Reply {
    const amount = Number(str(form, 'amount'));
    const currency = str(form, 'currency');
    const pm = str(form, 'payment_method');
    if (!Number.isSafeInteger(amount) || amount < 1 || !currency) return error(400, 'invalid_request_error', { message: 'Missing amount or currency.', param: 'amount' });
    if (str(form, 'confirm') !== 'true' || obj(form, 'automatic_payment_methods').allow_redirects !== 'never') {
      return error(400, 'invalid_request_error', { message: 'This emulator only confirms server-side without redirects.', param: 'confirm' });
    }
    if (!pm?.startsWith('pm_')) return missing('payment_method', pm ?? '', 'payment_method');
    const decline = this.declines.get(pm);
    const pi: PaymentIntent = {
      id: this.newId('pi_'), object: 'payment_intent', amount, amount_received: decline ? 0 : amount, currency,
      status: decline ? 'requires_payment_method' : 'succeeded', payment_method: pm, description: str(form, 'description') ?? null,
      metadata: obj(form, 'metadata') as Record<string, string>, latest_charge: this.newId('ch_'),
      last_payment_error: decline ? { type: 'card_error', code: 'card_declined', decline_code: decline, message: 'Your card was declined.' } : null,
      created: now(), livemode: false,
    };
    this.intents.set(pi.id, pi);
    if (!decline) return { status: 200, body: pi };
    return error(402, 'card_error', { code: 'card_declined', decline_code: decline, message: 'Your card was declined.', charge: pi.latest_charge, payment_intent: pi });
  }

  private createRefund(form: FormObject): Reply {
    const piId = str(form, 'payment_intent') ?? '';
    const pi = this.intents.get(piId);
    if (!pi) return missing('payment_intent', piId, 'payment_intent');
    if (pi.status !== 'succeeded') return error(400, 'invalid_request_error', { code: 'charge_not_refundable', message: 'This PaymentIntent has no successful charge.' });
    const refunded = this.refundsFor(piId).filter((r) => r.status !== 'failed' && r.status !== 'canceled').reduce((s, r) => s + r.amount, 0);
    const amount = str(form, 'amount') === undefined ? pi.amount - refunded : Number(str(form, 'amount'));
    if (refunded >= pi.amount) return error(400, 'invalid_request_error', { code: 'charge_already_refunded', message: `Charge ${pi.latest_charge} has already been refunded.` });
    if (amount > pi.amount - refunded) return error(400, 'invalid_request_error', { code: 'amount_too_large', message: 'Refund amount is greater than unrefunded amount on charge.', param: 'amount' });
    const refund: Refund = {
      id: this.newId('re_'), object: 'refund', amount, currency: pi.currency, payment_intent: piId, charge: pi.latest_charge,
      status: this.refundStatus, metadata: obj(form, 'metadata') as Record<string, string>, created: now(),
    };
    this.refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }
}

function error(status: number, type: string, fields: Record<string, unknown>): Reply {
  return { status, body: { error: { type, ...fields } } };
}

/** A missing object is a 404 on its own URL, a 400 when named by a request parameter (as Stripe answers). */
function missing(kind: string, id: string, param?: string): Reply {
  return error(param ? 400 : 404, 'invalid_request_error', { code: 'resource_missing', message: `No such ${kind}: '${id}'`, ...(param && { param }) });
}
