import type { ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, consumeOrderEvents, type EventConsumer } from '../helpers/outbox/amqp.js';
import { waitFor } from '../helpers/outbox/fixtures.js';
import { startService, tokenFor, uid, type Json, type Service } from './support/service.js';

/**
 * Events, end to end: orders changed through the HTTP API of the real
 * service come out on the machine's RabbitMQ, exchange `orders`, as API.md
 * ("Messages to other services") describes them. Other suites publish on the
 * same exchange at the same time: everything is filtered by this test's order ids.
 */
describe('events from the real service on RabbitMQ', () => {
  let consumer: EventConsumer;
  let svc: Service;

  beforeAll(async () => {
    // Our own exclusive queue, bound to `#` before anything happens: nothing can be missed.
    consumer = await consumeOrderEvents();
    svc = await startService({ AMQP_URL });
  });
  afterAll(async () => {
    await svc?.stop();
    await consumer?.close();
  });

  const messagesFor = (orderId: string): ConsumeMessage[] =>
    consumer.messages.filter(
      (m) => (JSON.parse(m.content.toString('utf8')) as { order_id?: string }).order_id === orderId,
    );
  const body = (m: ConsumeMessage): Json => JSON.parse(m.content.toString('utf8'));
  const byType = (orderId: string, type: string): Json[] =>
    messagesFor(orderId)
      .map(body)
      .filter((b) => b.type === type);

  /** Runs an action and returns the window [before, after] in which its event must have occurred. */
  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; before: number; after: number }> => {
    const before = Date.now();
    const value = await fn();
    return { value, before, after: Date.now() };
  };

  it('order.created, order.status_changed, order.cancelled and payment.refunded, each once, with the order as GET showed it then', async () => {
    const user = uid('events');
    const token = await tokenFor(user);

    // Order A: created, then processing, then shipped.
    const created = await timed(() => svc.createOrder(token));
    const a = created.value.body;
    const aCreated = await svc.getOrder(token, a.id);
    expect(aCreated).toEqual(a);
    const toProcessing = await timed(() => svc.setStatus(a.id, { status: 'processing' }));
    const aProcessing = await svc.getOrder(token, a.id);
    const tracking = { carrier: 'UPS', number: '1Z999AA10123456784' };
    const toShipped = await timed(() => svc.setStatus(a.id, { status: 'shipped', tracking }));
    const aShipped = await svc.getOrder(token, a.id);
    expect(aShipped).toMatchObject({ status: 'shipped', tracking });

    // Order B: created, then cancelled (and refunded in full by the sandbox provider).
    const b = (await svc.createOrder(token)).body;
    const bCreated = await svc.getOrder(token, b.id);
    const cancelled = await timed(() => svc.cancel(token, b.id, 'changed my mind'));
    const bCancelled = await svc.getOrder(token, b.id);
    expect(bCancelled).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });

    await waitFor(() => messagesFor(a.id).length >= 3 && messagesFor(b.id).length >= 3, 'the six events', 20_000).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}: got ${JSON.stringify(
            consumer.messages
              .map(body)
              .filter((m) => [a.id, b.id].includes(m.order_id))
              .map((m) => [m.order_id, m.type]),
          )}\n${svc.server.output().slice(-3000)}`,
        );
      },
    );
    // A little longer: a duplicate would show up now, and there must be none in the normal case.
    await new Promise((r) => setTimeout(r, 300));
    expect(
      messagesFor(a.id)
        .map((m) => m.fields.routingKey)
        .sort(),
    ).toEqual(['order.created', 'order.status_changed', 'order.status_changed']);
    expect(
      messagesFor(b.id)
        .map((m) => m.fields.routingKey)
        .sort(),
    ).toEqual(['order.cancelled', 'order.created', 'payment.refunded']);

    // The envelope of every message: routing key = type, persistent, message_id = id, JSON.
    const all = [...messagesFor(a.id), ...messagesFor(b.id)];
    expect(new Set(all.map((m) => m.properties.messageId)).size).toBe(6);
    for (const m of all) {
      const e = body(m);
      expect(m.fields.exchange).toBe('orders');
      expect(m.fields.routingKey).toBe(e.type);
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.properties.messageId).toBe(e.id);
      expect(m.properties.contentType).toBe('application/json');
      expect(Object.keys(e).sort()).toEqual(['data', 'id', 'occurred_at', 'order_id', 'type', 'user_id']);
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(e.user_id).toBe(user);
      expect(e.data.id).toBe(e.order_id);
      expect(new Date(e.occurred_at).toISOString()).toBe(e.occurred_at);
    }
    const within = (e: Json, w: { before: number; after: number }): void => {
      const at = Date.parse(e.occurred_at);
      expect(at).toBeGreaterThanOrEqual(w.before);
      expect(at).toBeLessThanOrEqual(w.after);
    };

    // order.created: the order exactly as the API returned it.
    const [aCreatedEvent] = byType(a.id, 'order.created');
    expect(aCreatedEvent.data).toEqual(aCreated);
    expect(aCreatedEvent.data).toMatchObject({ status: 'pending', payment: { status: 'succeeded' }, total: 5248 });
    within(aCreatedEvent, created);
    expect(byType(b.id, 'order.created')[0].data).toEqual(bCreated);

    // order.status_changed: the order after the step, plus from/to.
    const changes = byType(a.id, 'order.status_changed');
    const toP = changes.find((e) => e.data.to === 'processing');
    const toS = changes.find((e) => e.data.to === 'shipped');
    expect(toP.data).toEqual({ ...aProcessing, from: 'pending', to: 'processing' });
    expect(toS.data).toEqual({ ...aShipped, from: 'processing', to: 'shipped' });
    expect(toS.data).toMatchObject({ status: 'shipped', tracking, payment: { status: 'succeeded' } });
    within(toP, toProcessing);
    within(toS, toShipped);

    // order.cancelled: the order at the cancellation's commit: cancelled, its refund on its way
    // (`refund_pending`); payment.refunded follows once the provider confirmed it.
    const [cancelledEvent] = byType(b.id, 'order.cancelled');
    expect(cancelledEvent.data).toEqual({
      ...bCancelled,
      payment: { ...bCancelled.payment, status: 'refund_pending', amount_refunded: 0 },
      reason: 'changed my mind',
    });
    within(cancelledEvent, cancelled);
    const [refunded] = byType(b.id, 'payment.refunded');
    expect(refunded.data).toEqual({ ...bCancelled, refund: { id: expect.any(String), amount: 5248, currency: 'USD' } });
    expect(refunded.data.payment).toMatchObject({ status: 'refunded', amount: 5248 });
    within(refunded, cancelled);
    expect(Date.parse(refunded.occurred_at)).toBeGreaterThanOrEqual(Date.parse(cancelledEvent.occurred_at));

    // The outbox agrees: every event of this service delivered, none pending or dead.
    const delivered = (await svc.outbox('delivered')).filter((i: Json) => i.kind === 'event');
    expect(delivered.map((i: Json) => i.id).sort()).toEqual(all.map((m) => m.properties.messageId).sort());
    expect((await svc.outbox('pending')).filter((i: Json) => i.kind === 'event')).toEqual([]);
  });
});
