import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/app.js';
import { SPAN_KIND, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { tokenFor, uid } from '../e2e/support/service.js';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { callerTraceparent, SHIPPING, startTracedService, type TracedService } from './support/traced-service.js';

/**
 * Tracing (API.md, "Tracing"), end to end: the real service exporting OTLP to an in-process
 * receiver, on each database and in each encoding (protobuf, the default, on one; JSON on the
 * other). One order is followed from the caller's traceparent through its request, its statements
 * and its provider call to the relay's deliveries, the AMQP message and the email request.
 */
describe.each([
  ['pglite', 'http/json'],
  ['postgres', undefined],
] as const)('one order traced across the service on %s, OTLP %s (unset: http/protobuf)', (database, protocol) => {
  let svc: TracedService;
  beforeAll(async () => {
    svc = await startTracedService(database, protocol);
  }, 180_000);
  afterAll(async () => {
    await svc?.stop();
  });

  const call = async (
    method: string,
    path: string,
    opts: { token: string; body?: unknown; headers?: Record<string, string> },
  ) => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const orderBody = (email: string) => ({
    items: [{ product_id: 'sku_tshirt', quantity: 2 }],
    currency: 'USD',
    email,
    payment: { provider: 'stripe', source: 'pm_card_visa' },
    shipping_address: SHIPPING,
  });

  it('a create continues the caller’s trace: server span by route, statements, the provider call, then the email and the event delivered in the same trace, carrying it on', async () => {
    const caller = callerTraceparent();
    const user = uid('trace');
    const tracestate = 'shop=checkout-7';
    const created = await call('POST', '/api/orders', {
      token: await tokenFor(user),
      body: orderBody(`${user}@example.com`),
      headers: { traceparent: caller.traceparent, tracestate },
    });
    expect(created.status).toBe(201);
    const orderId = String(created.body.id);

    const server = await svc.span(caller.traceId, 'the server span', (s) => s.kind === SPAN_KIND.server);
    expect(server.name).toBe('POST /api/orders');
    expect(server.parentSpanId).toBe(caller.spanId);
    expect(server.service).toBe('order-api');
    expect(server.attributes['http.route']).toBe('/api/orders');

    const statement = await svc.span(caller.traceId, 'the statement that writes the order', (s) =>
      /insert into "?orders"? /i.test(String(s.attributes['db.query.text'])),
    );
    expect(statement.kind).toBe(SPAN_KIND.client);
    expect(statement.name).toMatch(/^pg\.query:(INSERT|WITH)\b/);
    expect(statement.attributes['db.system.name']).toBe('postgresql');

    const charge = await svc.span(caller.traceId, 'the provider call', (s) => s.name === 'stripe charge');
    expect(charge.kind).toBe(SPAN_KIND.client);
    expect(charge.attributes['payment.provider']).toBe('stripe');
    // The Stripe SDK's own HTTP request, under it.
    await svc.span(
      caller.traceId,
      'the HTTP request to Stripe',
      (s) =>
        s.kind === SPAN_KIND.client &&
        s.parentSpanId === charge.spanId &&
        s.attributes['http.request.method'] === 'POST',
    );

    const email = await svc.span(caller.traceId, 'the email delivery', (s) => s.name === 'outbox deliver email');
    const event = await svc.span(caller.traceId, 'the event delivery', (s) => s.name === 'outbox deliver event');
    for (const delivery of [email, event]) {
      expect(delivery.kind).toBe(SPAN_KIND.producer);
      expect(delivery.start).toBeGreaterThan(server.start);
      // Continues the trace from inside the request that wrote the message.
      expect(svc.trace(caller.traceId).some((s) => s.spanId === delivery.parentSpanId)).toBe(true);
    }

    // The consumers receive the trace: the AMQP message's header and the email request's.
    await waitFor(
      () => svc.events.bodies().some((b) => b.order_id === orderId && b.type === 'order.created'),
      'order.created on the broker',
    );
    const message = svc.events.messages.find((m) => JSON.parse(m.content.toString('utf8')).order_id === orderId)!;
    expect(String(message.properties.headers?.traceparent)).toMatch(
      new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`),
    );
    expect(message.properties.headers?.tracestate).toBe(tracestate);
    await waitFor(() => svc.sink.requests.some((r) => r.body.order_id === orderId), 'the confirmation email');
    const mail = svc.sink.requests.find((r) => r.body.order_id === orderId)!;
    expect(String(mail.headers.traceparent)).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
    expect(mail.headers.tracestate).toBe(tracestate);

    // Log lines of the request carry its trace beside the request id.
    const lines = svc.server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestId = lines.find(
      (l) => (l.req as { url?: string } | undefined)?.url === '/api/orders' && l.trace_id === caller.traceId,
    )?.reqId;
    expect(requestId).toBeDefined();
    const ofRequest = lines.filter((l) => l.reqId === requestId);
    expect(ofRequest.length).toBeGreaterThanOrEqual(2);
    for (const line of ofRequest)
      expect(line).toMatchObject({ trace_id: caller.traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });

    // The reconciler's passes (one at start, then every interval) are traces of their own.
    await waitFor(
      () => svc.receiver.spans.some((s) => s.name === 'payment reconciler pass' && s.parentSpanId === ''),
      'a reconciler pass',
    );

    // `TRACE_SNAPSHOT=file npx vitest run …` keeps this trace for docs/operations.md's picture (scripts/trace-waterfall.ts).
    if (process.env.TRACE_SNAPSHOT && database === 'postgres') {
      await new Promise((r) => setTimeout(r, 1000)); // the last batch of spans
      writeFileSync(
        process.env.TRACE_SNAPSHOT,
        JSON.stringify(svc.trace(caller.traceId), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2),
      );
    }

    if (protocol) expect(new Set(svc.receiver.contentTypes)).toEqual(new Set(['application/json']));
    else expect(new Set(svc.receiver.contentTypes)).toEqual(new Set(['application/x-protobuf']));
  });

  it('no secret, token, card token, email address or request body in any span of a create, a refund and a webhook', async () => {
    const user = uid('secret');
    const token = await tokenFor(user);
    const email = `${user}@example.com`;
    const body = orderBody(email);
    const caller = callerTraceparent();
    const created = await call('POST', '/api/orders', { token, body, headers: { traceparent: caller.traceparent } });
    expect(created.status).toBe(201);
    const refundTrace = callerTraceparent();
    const refunded = await call('POST', `/api/orders/${created.body.id}/refunds`, {
      token: svc.admin,
      body: { amount: 500, reason: 'damaged box' },
      headers: { traceparent: refundTrace.traceparent },
    });
    expect(refunded.status).toBe(201);
    const webhookTrace = callerTraceparent();
    const delivery = svc.emulators.stripe.webhook('charge.refunded', {
      id: 'ch_trace_test',
      object: 'charge',
      payment_intent: 'pi_unknown',
      refunded: true,
    });
    const hook = await fetch(`${svc.url}/api/webhooks/stripe`, {
      method: 'POST',
      headers: { ...delivery.headers, traceparent: webhookTrace.traceparent },
      body: delivery.body,
    });
    expect(hook.status).toBeLessThan(300);

    for (const t of [caller, refundTrace, webhookTrace])
      await svc.span(t.traceId, 'the server span', (s) => s.kind === SPAN_KIND.server);
    await svc.span(caller.traceId, 'the email delivery', (s) => s.name === 'outbox deliver email');
    await svc.span(refundTrace.traceId, 'the refund call', (s) => s.name === 'stripe refund');

    const spans: ReceivedSpan[] = [caller, refundTrace, webhookTrace].flatMap((t) => svc.trace(t.traceId));
    const forbidden = [
      token,
      svc.admin,
      TEST_SECRET,
      email,
      'pm_card_visa',
      svc.emulators.env.STRIPE_SECRET_KEY!,
      svc.emulators.env.STRIPE_WEBHOOK_SECRET!,
      delivery.headers['stripe-signature']!,
      'guest:guest',
      JSON.stringify(body),
      delivery.body,
      SHIPPING.line1,
    ];
    const leaks = spans.flatMap((s) =>
      Object.entries({ name: s.name, ...s.attributes }).flatMap(([key, value]) => {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        return forbidden.filter((f) => text.includes(f)).map((f) => `${s.name}: ${key} holds ${f}`);
      }),
    );
    expect(leaks).toEqual([]);
    expect(spans.length).toBeGreaterThan(20);
  });
});
