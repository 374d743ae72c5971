import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_KINDS } from '../../src/domain/messages.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/workers/outbox-relay.js';
import {
  emailExtraFor,
  enqueueEmail,
  makeOrder,
  openTestDb,
  outboxRow,
  quietLogger,
  recordingLogger,
  testConfig,
  waitFor,
  type TestDb,
} from '../helpers/outbox/fixtures.js';
import { startSmtpSink, type SmtpSink } from '../helpers/outbox/smtp-sink.js';

describe('emails over SMTP', () => {
  let t: TestDb;
  let sink: SmtpSink;
  let relay: OutboxRelay | null = null;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    sink = await startSmtpSink();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = null;
    sink.refuse = () => null;
  });
  afterAll(async () => {
    await sink?.close();
    await t?.close();
  });

  const newRelay = (env: Record<string, string> = {}): OutboxRelay =>
    (relay = createOutboxRelay({ db: t.db, config: testConfig({ SMTP_URL: sink.url, ...env }), logger: quietLogger }));

  it('delivers every kind: envelope, Message-ID from the outbox id, subject, text and HTML parts', async () => {
    const order = makeOrder({
      status: 'shipped',
      tracking: { carrier: 'FedEx', number: '7489' },
      payment: { ...makeOrder().payment, status: 'refunded' },
    });
    const ids = new Map<string, string>();
    for (const k of EMAIL_KINDS) ids.set(k, (await enqueueEmail(t.db, k, order, emailExtraFor(k, order)))!);

    expect(await newRelay().runOnce()).toBe(EMAIL_KINDS.length);

    const mailFor = (k: string) => sink.mails.find((m) => m.headers['message-id'] === `<${ids.get(k)}@shop.example>`)!;
    for (const [k, id] of ids) {
      const mail = mailFor(k);
      expect(mail, k).toBeDefined();
      expect(mail.from).toBe('orders@shop.example');
      expect(mail.to).toEqual(['alice@example.com']);
      expect(mail.headers['x-order-id']).toBe(order.id);
      expect(mail.headers['x-email-kind']).toBe(k);
      expect(mail.text).toContain(order.id);
      expect(mail.html).toContain('<!doctype html>');
      expect((await outboxRow(t.db, id)).status).toBe('delivered');
    }
    expect(mailFor('order_confirmation').headers.subject).toMatch(/^Your order [0-9A-F]{8} is confirmed$/);
    expect(mailFor('order_confirmation').text).toContain('2 × T-shirt (sku_tshirt)  $39.98');
    expect(mailFor('order_cancelled').text).toContain('We have refunded $52.48');
    expect(mailFor('order_shipped').text).toContain('Carrier: FedEx\nTracking number: 7489');
    expect(mailFor('order_shipped').html).toContain('Tracking number: 7489');
    expect(mailFor('order_delivered').headers.subject).toMatch(/has been delivered$/);
  });

  it('a server refusing for a while (451): the message arrives once it accepts again', async () => {
    const id = (await enqueueEmail(t.db, 'order_confirmation', makeOrder()))!;
    const before = sink.mails.length;
    sink.refuse = (n) => (n < 100 ? 'mailbox busy, try later' : null);
    const r = newRelay();
    await r.runOnce();
    const failed = await outboxRow(t.db, id);
    expect(failed.status).toBe('pending');
    expect(failed.last_error).toMatch(/busy/);
    sink.refuse = () => null;
    r.start();
    await waitFor(async () => (await outboxRow(t.db, id)).status === 'delivered', 'SMTP delivery after refusals');
    expect(sink.mails.length).toBe(before + 1);
  });

  it('SMTP server unreachable: retried, then dead after the configured attempts', async () => {
    const id = (await enqueueEmail(t.db, 'order_delivered', makeOrder()))!;
    relay = createOutboxRelay({
      db: t.db,
      config: testConfig({ SMTP_URL: 'smtp://127.0.0.1:9', OUTBOX_MAX_ATTEMPTS: '2' }),
      logger: quietLogger,
    });
    relay.start();
    await waitFor(async () => (await outboxRow(t.db, id)).status === 'dead', 'the message to be dead');
    const row = await outboxRow(t.db, id);
    expect(row.attempts).toBe(2);
    expect(row.last_error).toMatch(/ECONNREFUSED|connect/i);
  });
});

describe('emails to the log (no EMAIL_URL, no SMTP_URL)', () => {
  it('writes the rendered email to the logger and marks it delivered', async () => {
    const t = await openTestDb('pglite');
    try {
      const logger = recordingLogger();
      const id = (await enqueueEmail(
        t.db,
        'order_shipped',
        makeOrder({ tracking: { carrier: 'UPS', number: '1Z1' } }),
      ))!;
      const relay = createOutboxRelay({ db: t.db, config: testConfig(), logger });
      expect(await relay.runOnce()).toBe(1);
      await relay.stop();
      const line = logger.lines.find((l) => (l.obj as { email?: { id: string } }).email?.id === id);
      expect(line?.level).toBe('info');
      expect((line!.obj as { email: { text: string } }).email.text).toContain('Tracking number: 1Z1');
      expect((await outboxRow(t.db, id)).status).toBe('delivered');
    } finally {
      await t.close();
    }
  });
});
