import Stripe from 'stripe';
import { obj, parseForm, str, type FormObject } from './form.js';
import {
  fingerprint,
  HttpEmulator,
  idFactory,
  type ProviderPayment,
  type RecordedRequest,
  type Reply,
} from './http-emulator.js';

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
 *
 * Manual capture as Stripe does it: `capture_method=manual` leaves the intent
 * `requires_capture` with its charge's `capture_before` 7 days ahead; capture
 * takes `amount_to_capture` ≤ `amount_capturable` and releases the rest; cancel
 * voids; an authorization that lapses (`expireAuthorization`) is canceled with
 * `cancellation_reason: automatic`. Money moved outside the API (a dashboard
 * refund, a dispute) comes with the signed webhook Stripe would send.
 *
 * 3-D Secure as Stripe does it: `pm_card_threeDSecureRequired` (and any token given to
 * `requireAuthentication`) needs the customer. Confirmed with `error_on_requires_action` it is
 * refused (402 card_error `authentication_required`); confirmed with a `return_url` the intent is
 * `requires_action` with `next_action.redirect_to_url` and a `client_secret`, no charge yet.
 * `authenticate(pi, 'complete' | 'fail')` is the customer at the bank's page: the intent succeeds
 * (or `requires_capture` when manual) or goes back to `requires_payment_method` with
 * `payment_intent_authentication_failure`, and the answer is the webhook Stripe sends.
 */
interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  capture_method: 'automatic' | 'manual';
  cancellation_reason: string | null;
  canceled_at: number | null;
  currency: string;
  status: string;
  payment_method: string;
  description: string | null;
  metadata: Record<string, string>;
  latest_charge: string | null;
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null;
  client_secret: string;
  next_action: { type: 'redirect_to_url'; redirect_to_url: { url: string; return_url: string } } | null;
  created: number;
  livemode: false;
}

interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  refunded: boolean;
  currency: string;
  payment_intent: string;
  status: 'succeeded' | 'failed';
  payment_method_details: { type: 'card'; card: { capture_before?: number } };
  created: number;
}

interface Dispute {
  id: string;
  object: 'dispute';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  reason: string;
  status: string;
  created: number;
}

interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string | null;
  status: 'succeeded' | 'pending' | 'failed' | 'canceled';
  metadata: Record<string, string>;
  created: number;
}

const now = () => Math.floor(Date.now() / 1000);
/** Online card authorizations are capturable for 7 days. */
const CAPTURE_WINDOW_S = 7 * 24 * 3600;
const OPEN = new Set(['warning_needs_response', 'warning_under_review', 'needs_response', 'under_review']);

export class StripeEmulator extends HttpEmulator {
  readonly secretKey = 'sk_test_emulator';
  readonly webhookSecret = 'whsec_emulator_secret';
  readonly intents = new Map<string, PaymentIntent>();
  readonly refunds = new Map<string, Refund>();
  readonly charges = new Map<string, Charge>();
  readonly disputes = new Map<string, Dispute>();
  /** Status new refunds get (`pending` then `succeeded` later is how some methods behave). */
  refundStatus: 'succeeded' | 'pending' | 'failed' = 'succeeded';
  private readonly stored = new Map<string, { fingerprint: string; reply: Reply }>();
  private readonly declines = new Map<string, string>([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ]);
  private readonly newId = idFactory();
  private readonly authenticationRequired = new Set(['pm_card_threeDSecureRequired']);

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
    for (const pi of this.intents.keys()) this.syncCharge(pi);
  }

  decline(token: string, declineCode: string): void {
    this.declines.set(token, declineCode);
  }

  /**
   * The customer at the bank's 3-D Secure page for an intent that is `requires_action`: completes
   * (a charge is made, the intent succeeds or becomes capturable) or fails. Returns the webhook
   * Stripe sends (`payment_intent.succeeded`, `.amount_capturable_updated` or `.payment_failed`).
   */
  authenticate(paymentIntent: string, outcome: 'complete' | 'fail'): Delivery {
    const pi = this.intents.get(paymentIntent);
    if (pi?.status !== 'requires_action') throw new Error(`${paymentIntent} does not wait for its customer`);
    pi.next_action = null;
    if (outcome === 'fail') {
      Object.assign(pi, {
        status: 'requires_payment_method',
        last_payment_error: {
          type: 'invalid_request_error',
          code: 'payment_intent_authentication_failure',
          message: 'The provided PaymentMethod has failed authentication.',
        },
      });
      return this.webhook('payment_intent.payment_failed', structuredClone(pi));
    }
    const manual = pi.capture_method === 'manual';
    const charge = this.newCharge(pi.amount, pi.currency, manual, false);
    charge.payment_intent = pi.id;
    this.charges.set(charge.id, charge);
    Object.assign(pi, {
      status: manual ? 'requires_capture' : 'succeeded',
      amount_capturable: manual ? pi.amount : 0,
      amount_received: manual ? 0 : pi.amount,
      latest_charge: charge.id,
    });
    return this.webhook(
      manual ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded',
      structuredClone(pi),
    );
  }

  /** The `payment_intent.canceled` webhook for an intent, as Stripe sends it after a cancel. */
  canceledWebhook(paymentIntent: string): Delivery {
    const pi = this.intents.get(paymentIntent);
    if (pi?.status !== 'canceled') throw new Error(`${paymentIntent} is not canceled`);
    return this.webhook('payment_intent.canceled', structuredClone(pi));
  }

  /** Succeeded charges made for one of our transactions (the number that must never exceed 1). */
  chargesFor(transactionId: string): number {
    return [...this.intents.values()].filter(
      (pi) => pi.metadata.transaction_id === transactionId && pi.status === 'succeeded',
    ).length;
  }

  refundsFor(paymentIntent: string): Refund[] {
    return [...this.refunds.values()].filter((r) => r.payment_intent === paymentIntent);
  }

  /** Captures that moved money for an intent (at most one: a second is refused). */
  capturedAmount(paymentIntent: string): number {
    return this.intents.get(paymentIntent)?.amount_received ?? 0;
  }

  /** The authorization lapses, as after 7 days: Stripe cancels the intent itself. */
  expireAuthorization(paymentIntent: string): void {
    const pi = this.intents.get(paymentIntent);
    if (pi?.status !== 'requires_capture') throw new Error(`${paymentIntent} is not awaiting capture`);
    Object.assign(pi, {
      status: 'canceled',
      cancellation_reason: 'automatic',
      canceled_at: now(),
      amount_capturable: 0,
    });
  }

  /**
   * A refund made in Stripe's dashboard, not through the API: no metadata of ours. Returns the
   * webhooks Stripe sends for it (`charge.refunded` with the charge, `refund.created` with the refund).
   */
  dashboardRefund(
    paymentIntent: string,
    amount: number,
    status: Refund['status'] = 'succeeded',
  ): { refund: Refund; chargeRefunded: Delivery; refundCreated: Delivery } {
    const pi = this.intents.get(paymentIntent);
    if (!pi || pi.status !== 'succeeded') throw new Error(`${paymentIntent} has no captured charge`);
    if (amount > pi.amount_received - this.refundedOf(pi.id)) throw new Error('more than is left to refund');
    const refund = this.addRefund(pi, amount, {}, status);
    return {
      refund,
      chargeRefunded: this.webhook('charge.refunded', this.charges.get(pi.latest_charge!)),
      refundCreated: this.webhook('refund.created', refund),
    };
  }

  /** A refund changes state at Stripe (a pending one settles or fails); returns its `refund.updated` (or `refund.failed`). */
  updateRefund(refundId: string, status: Refund['status']): Delivery {
    const refund = this.refunds.get(refundId);
    if (!refund) throw new Error(`no refund ${refundId}`);
    refund.status = status;
    this.syncCharge(refund.payment_intent);
    return this.webhook(status === 'failed' ? 'refund.failed' : 'refund.updated', refund);
  }

  /** The customer disputes the charge: returns `charge.dispute.created`. */
  openDispute(paymentIntent: string, amount?: number): { dispute: Dispute; delivery: Delivery } {
    const pi = this.intents.get(paymentIntent);
    if (!pi?.latest_charge || pi.status !== 'succeeded') throw new Error(`${paymentIntent} has no captured charge`);
    const dispute: Dispute = {
      id: this.newId('dp_'),
      object: 'dispute',
      amount: amount ?? pi.amount_received,
      currency: pi.currency,
      charge: pi.latest_charge,
      payment_intent: pi.id,
      reason: 'fraudulent',
      status: 'needs_response',
      created: now(),
    };
    this.disputes.set(dispute.id, dispute);
    return { dispute, delivery: this.webhook('charge.dispute.created', dispute) };
  }

  /** The dispute moves on (`under_review`, `won`, `lost`): returns `charge.dispute.updated` or `.closed`. */
  settleDispute(disputeId: string, status: string): Delivery {
    const dispute = this.disputes.get(disputeId);
    if (!dispute) throw new Error(`no dispute ${disputeId}`);
    dispute.status = status;
    return this.webhook(OPEN.has(status) ? 'charge.dispute.updated' : 'charge.dispute.closed', dispute);
  }

  /** A webhook delivery as Stripe sends it: the raw body and its `stripe-signature` header. */
  webhook(type: string, object: unknown, secret = this.webhookSecret): Delivery {
    const id = this.newId('evt_');
    const body = JSON.stringify({
      id,
      object: 'event',
      type,
      api_version: '2026-10-28.endive',
      created: now(),
      livemode: false,
      data: { object },
    });
    return {
      id,
      body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret }),
      },
    };
  }

  protected override records(): ProviderPayment[] {
    return [...this.intents.values()].map((pi) => ({
      id: pi.id,
      transactionId: pi.metadata.transaction_id ?? null,
      currency: pi.currency.toUpperCase(),
      held: pi.amount_capturable,
      captured: pi.amount_received,
      // A manual intent's capture carries the ledger row it was made for; an automatic one is the charge.
      captures:
        pi.amount_received > 0
          ? [{ id: pi.latest_charge ?? pi.id, amount: pi.amount_received, ledgerId: pi.metadata.capture_id ?? null }]
          : [],
      refunds: this.refundsFor(pi.id).map((r) => ({
        id: r.id,
        amount: r.amount,
        status: r.status === 'succeeded' ? 'succeeded' : r.status === 'pending' ? 'pending' : 'failed',
        ledgerId: r.metadata.refund_id ?? null,
      })),
    }));
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
    const action = /^\/v1\/payment_intents\/([^/]+)\/(capture|cancel)$/.exec(path);
    if (action) {
      const pi = this.intents.get(action[1]!);
      if (!pi) return missing('payment_intent', action[1]!);
      return action[2] === 'capture' ? this.captureIntent(pi, form) : this.cancelIntent(pi, form);
    }
    return error(404, 'invalid_request_error', { message: `Unrecognized request URL (POST: ${path})` });
  }

  private get(path: string, url: URL): Reply {
    if (path === '/v1/payment_intents/search') {
      const m = /metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'/.exec(url.searchParams.get('query') ?? '');
      const data = m
        ? [...this.intents.values()].filter((pi) => pi.metadata[m[1]!] === m[2]!.replace(/\\'/g, "'"))
        : [];
      return { status: 200, body: { object: 'search_result', data, has_more: false, next_page: null, url: path } };
    }
    const intent = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (intent) {
      const pi = this.intents.get(intent[1]!);
      return pi
        ? { status: 200, body: this.render(pi, parseForm(url.search.slice(1))) }
        : missing('payment_intent', intent[1]!);
    }
    // Lists are newest first, as Stripe's are.
    if (path === '/v1/refunds') {
      const data = [...this.refunds.values()]
        .filter((r) => r.payment_intent === url.searchParams.get('payment_intent'))
        .reverse();
      return { status: 200, body: { object: 'list', data, has_more: false, url: path } };
    }
    if (path === '/v1/disputes') {
      const data = [...this.disputes.values()]
        .filter((d) => d.payment_intent === url.searchParams.get('payment_intent'))
        .reverse();
      return { status: 200, body: { object: 'list', data, has_more: false, url: path } };
    }
    return error(404, 'invalid_request_error', { message: `Unrecognized request URL (GET: ${path})` });
  }

  private createIntent(form: FormObject): Reply {
    const amount = Number(str(form, 'amount'));
    const currency = str(form, 'currency');
    const pm = str(form, 'payment_method');
    const manual = str(form, 'capture_method') === 'manual';
    const returnUrl = str(form, 'return_url');
    if (!Number.isSafeInteger(amount) || amount < 1 || !currency)
      return error(400, 'invalid_request_error', { message: 'Missing amount or currency.', param: 'amount' });
    if (str(form, 'confirm') !== 'true')
      return error(400, 'invalid_request_error', {
        message: 'This emulator only creates confirmed intents.',
        param: 'confirm',
      });
    // Stripe's own rule: redirect-based methods need somewhere to send the customer back.
    if (obj(form, 'automatic_payment_methods').allow_redirects !== 'never' && !returnUrl) {
      return error(400, 'invalid_request_error', {
        message:
          'This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`.',
        param: 'return_url',
      });
    }
    if (returnUrl && str(form, 'error_on_requires_action') === 'true') {
      return error(400, 'invalid_request_error', {
        message: 'You cannot set error_on_requires_action with a return_url.',
        param: 'error_on_requires_action',
      });
    }
    if (!pm?.startsWith('pm_')) return missing('payment_method', pm ?? '', 'payment_method');
    const needsCustomer = this.authenticationRequired.has(pm);
    if (needsCustomer && !returnUrl) {
      // error_on_requires_action: the card cannot be charged without the customer.
      const pi = this.newIntent(form, {
        amount,
        currency,
        pm,
        manual,
        status: 'requires_payment_method',
        chargeId: null,
      });
      pi.last_payment_error = {
        type: 'card_error',
        code: 'authentication_required',
        decline_code: 'authentication_required',
        message: 'Your card was declined. This transaction requires authentication.',
      };
      return error(402, 'card_error', {
        code: 'authentication_required',
        decline_code: 'authentication_required',
        message: pi.last_payment_error.message,
        payment_intent: pi,
      });
    }
    if (needsCustomer) {
      const pi = this.newIntent(form, { amount, currency, pm, manual, status: 'requires_action', chargeId: null });
      pi.next_action = {
        type: 'redirect_to_url',
        redirect_to_url: { url: `${this.url}/3ds/${pi.id}`, return_url: returnUrl! },
      };
      return { status: 200, body: this.render(pi, form) };
    }
    const decline = this.declines.get(pm);
    const charge = this.newCharge(amount, currency, manual, !!decline);
    const pi = this.newIntent(form, {
      amount,
      currency,
      pm,
      manual,
      status: decline ? 'requires_payment_method' : manual ? 'requires_capture' : 'succeeded',
      chargeId: charge.id,
    });
    Object.assign(pi, {
      amount_capturable: decline || !manual ? 0 : amount,
      amount_received: decline || manual ? 0 : amount,
    });
    pi.last_payment_error = decline
      ? { type: 'card_error', code: 'card_declined', decline_code: decline, message: 'Your card was declined.' }
      : null;
    charge.payment_intent = pi.id;
    this.charges.set(charge.id, charge);
    if (!decline) return { status: 200, body: this.render(pi, form) };
    return error(402, 'card_error', {
      code: 'card_declined',
      decline_code: decline,
      message: 'Your card was declined.',
      charge: pi.latest_charge,
      payment_intent: pi,
    });
  }

  private newCharge(amount: number, currency: string, manual: boolean, declined: boolean): Charge {
    const created = now();
    return {
      id: this.newId('ch_'),
      object: 'charge',
      amount,
      amount_captured: declined || manual ? 0 : amount,
      amount_refunded: 0,
      captured: !declined && !manual,
      refunded: false,
      currency,
      payment_intent: '',
      status: declined ? 'failed' : 'succeeded',
      payment_method_details: {
        type: 'card',
        card: manual && !declined ? { capture_before: created + CAPTURE_WINDOW_S } : {},
      },
      created,
    };
  }

  private newIntent(
    form: FormObject,
    p: { amount: number; currency: string; pm: string; manual: boolean; status: string; chargeId: string | null },
  ): PaymentIntent {
    const id = this.newId('pi_');
    const pi: PaymentIntent = {
      id,
      object: 'payment_intent',
      amount: p.amount,
      amount_capturable: 0,
      amount_received: 0,
      capture_method: p.manual ? 'manual' : 'automatic',
      cancellation_reason: null,
      canceled_at: null,
      currency: p.currency,
      status: p.status,
      payment_method: p.pm,
      description: str(form, 'description') ?? null,
      metadata: obj(form, 'metadata') as Record<string, string>,
      latest_charge: p.chargeId,
      last_payment_error: null,
      client_secret: `${id}_secret_${this.newId('')}`,
      next_action: null,
      created: now(),
      livemode: false,
    };
    this.intents.set(id, pi);
    return pi;
  }

  private captureIntent(pi: PaymentIntent, form: FormObject): Reply {
    if (pi.status !== 'requires_capture') {
      return error(400, 'invalid_request_error', {
        code: 'payment_intent_unexpected_state',
        message: `This PaymentIntent could not be captured because it has a status of ${pi.status}.`,
        payment_intent: pi,
      });
    }
    const asked = str(form, 'amount_to_capture');
    const amount = asked === undefined ? pi.amount_capturable : Number(asked);
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > pi.amount_capturable) {
      return error(400, 'invalid_request_error', {
        code: 'amount_too_large',
        param: 'amount_to_capture',
        message: `The amount to capture must be at most the amount capturable (${pi.amount_capturable}).`,
      });
    }
    Object.assign(pi, {
      status: 'succeeded',
      amount_received: amount,
      amount_capturable: 0,
      metadata: { ...pi.metadata, ...(obj(form, 'metadata') as Record<string, string>) },
    });
    Object.assign(this.charges.get(pi.latest_charge!)!, { captured: true, amount_captured: amount });
    return { status: 200, body: this.render(pi, form) };
  }

  private cancelIntent(pi: PaymentIntent, form: FormObject): Reply {
    if (pi.status === 'succeeded' || pi.status === 'canceled') {
      return error(400, 'invalid_request_error', {
        code: 'payment_intent_unexpected_state',
        message: `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`,
        payment_intent: pi,
      });
    }
    Object.assign(pi, {
      status: 'canceled',
      cancellation_reason: str(form, 'cancellation_reason') ?? null,
      canceled_at: now(),
      amount_capturable: 0,
      next_action: null,
    });
    return { status: 200, body: this.render(pi, form) };
  }

  /** The intent as the API shows it: `latest_charge` an id unless the request expanded it. */
  private render(
    pi: PaymentIntent,
    form: FormObject,
  ): PaymentIntent | (Omit<PaymentIntent, 'latest_charge'> & { latest_charge: Charge }) {
    const expanded = Object.values(obj(form, 'expand')).includes('latest_charge');
    const charge = pi.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
    return expanded && charge
      ? { ...structuredClone(pi), latest_charge: structuredClone(charge) }
      : structuredClone(pi);
  }

  private refundedOf(piId: string): number {
    return this.refundsFor(piId)
      .filter((r) => r.status !== 'failed' && r.status !== 'canceled')
      .reduce((s, r) => s + r.amount, 0);
  }

  private createRefund(form: FormObject): Reply {
    const piId = str(form, 'payment_intent') ?? '';
    const pi = this.intents.get(piId);
    if (!pi) return missing('payment_intent', piId, 'payment_intent');
    if (pi.status !== 'succeeded')
      return error(400, 'invalid_request_error', {
        code: 'charge_not_refundable',
        message: 'This PaymentIntent has no successful charge.',
      });
    const refunded = this.refundedOf(piId);
    const amount = str(form, 'amount') === undefined ? pi.amount_received - refunded : Number(str(form, 'amount'));
    if (refunded >= pi.amount_received)
      return error(400, 'invalid_request_error', {
        code: 'charge_already_refunded',
        message: `Charge ${pi.latest_charge} has already been refunded.`,
      });
    if (amount > pi.amount_received - refunded)
      return error(400, 'invalid_request_error', {
        code: 'amount_too_large',
        message: 'Refund amount is greater than unrefunded amount on charge.',
        param: 'amount',
      });
    return {
      status: 200,
      body: this.addRefund(pi, amount, obj(form, 'metadata') as Record<string, string>, this.refundStatus),
    };
  }

  private addRefund(
    pi: PaymentIntent,
    amount: number,
    metadata: Record<string, string>,
    status: Refund['status'],
  ): Refund {
    const refund: Refund = {
      id: this.newId('re_'),
      object: 'refund',
      amount,
      currency: pi.currency,
      payment_intent: pi.id,
      charge: pi.latest_charge,
      status,
      metadata,
      created: now(),
    };
    this.refunds.set(refund.id, refund);
    this.syncCharge(pi.id);
    return refund;
  }

  private syncCharge(piId: string): void {
    const pi = this.intents.get(piId)!;
    const charge = this.charges.get(pi.latest_charge!);
    if (!charge) return;
    const refunded = this.refundsFor(piId)
      .filter((r) => r.status === 'succeeded')
      .reduce((s, r) => s + r.amount, 0);
    Object.assign(charge, { amount_refunded: refunded, refunded: refunded >= charge.amount_captured });
  }
}

export type Delivery = { body: string; headers: Record<string, string>; id: string };

function error(status: number, type: string, fields: Record<string, unknown>): Reply {
  return { status, body: { error: { type, ...fields } } };
}

/** A missing object is a 404 on its own URL, a 400 when named by a request parameter (as Stripe answers). */
function missing(kind: string, id: string, param?: string): Reply {
  return error(param ? 400 : 404, 'invalid_request_error', {
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    ...(param && { param }),
  });
}
