import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPayPalProvider } from '../../src/payments/paypal.js';
import {
  PaymentAmountMismatchError,
  PaymentDeclinedError,
  PaymentIntentMismatchError,
  type ChargeCapture,
  type PaymentProvider,
} from '../../src/payments/provider.js';
import { PayPalEmulator } from '../emulators/paypal-emulator.js';
import { FAST } from './harness.js';

/**
 * PayPal specifics: the buyer approved an order elsewhere, so we must check it
 * is for exactly our amount and currency before capturing, and capture nothing
 * when it is not. Also: PAYPAL_API_BASE is honoured by dialling the emulator.
 */
let emu: PayPalEmulator;
let paypal: PaymentProvider;
beforeAll(async () => {
  emu = await new PayPalEmulator().start();
  paypal = createPayPalProvider(emu.settings(), FAST);
});
afterAll(() => emu.close());
beforeEach(() => emu.resetFaults());

const charge = (
  source: string,
  amount: number,
  currency: string,
  capture: ChargeCapture = 'immediate',
  transactionId: string = randomUUID(),
) => paypal.charge({ transactionId, amount, currency, source, customerId: 'alice', description: 'Order', capture });
const captureCalls = () => emu.requests.filter((r) => r.path.endsWith('/capture')).length;

describe('paypal amount and currency check', () => {
  it.each<[string, number, string, { value?: string; currency?: string; units?: number }]>([
    ['a different amount', 1999, 'USD', { value: '19.98' }],
    ['a different currency', 1999, 'USD', { value: '19.99', currency: 'EUR' }],
    ['more decimals than the currency has', 1999, 'USD', { value: '19.991' }],
    ['two purchase units', 1999, 'USD', { units: 2 }],
  ])('%s → PaymentAmountMismatchError, nothing captured', async (_case, amount, currency, opts) => {
    const source = emu.approvedOrder(amount, opts.currency ?? currency, opts);
    await expect(charge(source, amount, currency)).rejects.toBeInstanceOf(PaymentAmountMismatchError);
    expect(captureCalls()).toBe(0);
    expect(emu.orders.get(source)!.status).toBe('APPROVED');
  });

  it.each([
    [500, 'JPY', '500'],
    [1234, 'KWD', '1.234'],
    [1999, 'USD', '19.990'],
    [5, 'USD', '0.05'],
  ])('%i %s matches "%s" exactly and is captured', async (amount, currency, value) => {
    const source = emu.approvedOrder(amount, currency, { value });
    await expect(charge(source, amount, currency)).resolves.toEqual({
      reference: expect.stringMatching(/^CAP/),
      captured: true,
      authorizationExpiresAt: null,
    });
  });
});

describe('paypal order states', () => {
  it('an order the buyer has not approved is declined, nothing captured', async () => {
    const source = emu.approvedOrder(1000, 'USD', { status: 'CREATED' });
    await expect(charge(source, 1000, 'USD')).rejects.toMatchObject({
      name: 'PaymentDeclinedError',
      declineCode: 'order_not_approved',
    });
    expect(captureCalls()).toBe(0);
  });

  it('an order id that does not exist is declined as an invalid source', async () => {
    await expect(charge('ORDER-NOPE', 1000, 'USD')).rejects.toMatchObject({
      name: 'PaymentDeclinedError',
      declineCode: 'invalid_source',
    });
  });

  it('one approved order cannot pay for two transactions', async () => {
    const source = emu.approvedOrder(1000, 'USD');
    await charge(source, 1000, 'USD');
    const err = await charge(source, 1000, 'USD').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentDeclinedError);
    expect((err as PaymentDeclinedError).declineCode).toBe('order_already_captured');
    expect(emu.captures.size).toBeGreaterThan(0);
    expect([...emu.captures.values()].filter((c) => c.orderId === source)).toHaveLength(1);
  });

  it('retrieve by order: not_found while only approved, succeeded with the capture once captured', async () => {
    const source = emu.approvedOrder(1000, 'USD');
    const tx = {
      transactionId: randomUUID(),
      amount: 1000,
      currency: 'USD',
      source,
      customerId: 'alice',
      description: 'Order',
      capture: 'immediate' as const,
    };
    await expect(paypal.retrieve({ ...tx, reference: null })).resolves.toEqual({ status: 'not_found' });
    const { reference } = await paypal.charge(tx);
    await expect(paypal.retrieve({ ...tx, reference: null })).resolves.toEqual({ status: 'succeeded', reference });
    await paypal.refund({
      transactionId: tx.transactionId,
      refundId: tx.transactionId,
      reference,
      amount: 1000,
      currency: 'USD',
    });
    // A refunded capture was still charged: refunds are tracked on their own.
    await expect(paypal.retrieve({ ...tx, reference })).resolves.toEqual({ status: 'succeeded', reference });
  });
});

describe('paypal authorize and capture', () => {
  it.each<[ChargeCapture, 'CAPTURE' | 'AUTHORIZE']>([
    ['manual', 'CAPTURE'],
    ['immediate', 'AUTHORIZE'],
  ])('a %s charge of an order with intent %s → PaymentIntentMismatchError, nothing moved', async (mode, intent) => {
    const source = emu.approvedOrder(1000, 'USD', { intent });
    await expect(charge(source, 1000, 'USD', mode)).rejects.toBeInstanceOf(PaymentIntentMismatchError);
    expect(emu.orders.get(source)!.status).toBe('APPROVED');
    expect(emu.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v2/checkout/orders/'))).toHaveLength(
      0,
    );
  });

  it('on the wire: authorize the order, capture the authorization (amount, final_capture), void another, each with its PayPal-Request-Id', async () => {
    const tx = randomUUID();
    const { reference, authorizationExpiresAt } = await charge(
      emu.approvedOrder(1000, 'USD', { intent: 'AUTHORIZE' }),
      1000,
      'USD',
      'manual',
      tx,
    );
    expect(reference).toMatch(/^AUTH/);
    expect(authorizationExpiresAt).toEqual(new Date(emu.authorizations.get(reference)!.expiration_time));
    expect(emu.requests.find((r) => r.path.endsWith('/authorize'))!.headers['paypal-request-id']).toBe(`charge-${tx}`);

    const { reference: captureId } = await paypal.capture({
      transactionId: tx,
      captureId: 'cap-1',
      reference,
      amount: 750,
      currency: 'USD',
    });
    expect(captureId).toMatch(/^CAP/);
    const sent = emu.requests.find((r) => r.path === `/v2/payments/authorizations/${reference}/capture`)!;
    expect(sent.headers['paypal-request-id']).toBe('capture-cap-1');
    expect(JSON.parse(sent.body)).toEqual({
      amount: { currency_code: 'USD', value: '7.50' },
      final_capture: true,
      invoice_id: 'cap-1',
    });
    // The rest is released: nothing more can be captured.
    expect(emu.authorizations.get(reference)!.status).toBe('CAPTURED');
    await expect(
      paypal.capture({ transactionId: tx, captureId: 'cap-2', reference, amount: 250, currency: 'USD' }),
    ).rejects.toMatchObject({ declineCode: 'already_captured' });
    // Refunds name the capture.
    await paypal.refund({ transactionId: tx, refundId: 'r-1', reference: captureId, amount: 750, currency: 'USD' });
    expect(emu.refundsFor(captureId)).toHaveLength(1);

    const other = await charge(emu.approvedOrder(500, 'USD', { intent: 'AUTHORIZE' }), 500, 'USD', 'manual');
    await paypal.void({ transactionId: tx, voidId: 'void-1', reference: other.reference });
    expect(
      emu.requests.find((r) => r.path === `/v2/payments/authorizations/${other.reference}/void`)!.headers[
        'paypal-request-id'
      ],
    ).toBe('void-void-1');
    expect(emu.authorizations.get(other.reference)!.status).toBe('VOIDED');
  });

  it('retrieve by order after authorizing, then after capturing: authorized, then succeeded with the capture id', async () => {
    const source = emu.approvedOrder(1000, 'USD', { intent: 'AUTHORIZE' });
    const tx = {
      transactionId: randomUUID(),
      amount: 1000,
      currency: 'USD',
      source,
      customerId: 'alice',
      description: 'Order',
      capture: 'manual' as const,
    };
    const { reference } = await paypal.charge(tx);
    await expect(paypal.retrieve({ ...tx, reference: null })).resolves.toMatchObject({
      status: 'authorized',
      reference,
    });
    const captured = await paypal.capture({
      transactionId: tx.transactionId,
      captureId: randomUUID(),
      reference,
      amount: 1000,
      currency: 'USD',
    });
    await expect(paypal.retrieve({ ...tx, reference: null })).resolves.toEqual({
      status: 'succeeded',
      reference: captured.reference,
    });
    await expect(paypal.retrieve({ ...tx, reference })).resolves.toEqual({
      status: 'succeeded',
      reference: captured.reference,
    });
  });
});

describe('paypal transport', () => {
  it('talks only to PAYPAL_API_BASE, addressing the sandbox host, with an OAuth token', async () => {
    await charge(emu.approvedOrder(100, 'USD'), 100, 'USD');
    expect(emu.requests.length).toBeGreaterThan(0);
    for (const r of emu.requests) expect(r.headers.host).toBe('api-m.sandbox.paypal.com');
    expect(
      emu.requests
        .filter((r) => r.path.endsWith('/capture'))
        .every((r) => /^Bearer A21AA/.test(r.headers.authorization ?? '')),
    ).toBe(true);
  });

  it('a 503 on reading the order is retried by the SDK', async () => {
    const source = emu.approvedOrder(100, 'USD');
    emu.failNext(1, 503, /^GET \/v2\/checkout\/orders\//);
    await expect(charge(source, 100, 'USD')).resolves.toEqual({
      reference: expect.any(String),
      captured: true,
      authorizationExpiresAt: null,
    });
    expect(emu.requests.filter((r) => r.method === 'GET' && r.path === `/v2/checkout/orders/${source}`)).toHaveLength(
      2,
    );
  });

  it('wrong client credentials are a provider error, not a decline', async () => {
    const bad = createPayPalProvider({ ...emu.settings(), clientSecret: 'wrong' }, { ...FAST, maxRetries: 0 });
    const err = await bad
      .charge({
        transactionId: randomUUID(),
        amount: 100,
        currency: 'USD',
        source: emu.approvedOrder(100, 'USD'),
        customerId: 'a',
        description: 'd',
        capture: 'immediate',
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PaymentProviderError' });
  });
});
