import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'amqplib';
import pg from 'pg';

/**
 * The audit's inputs, each read its own way and none through the service's code: the database by
 * plain SQL on whichever node accepts writes, the providers through their emulators' control
 * endpoints, the broker through the audit's own queue, the email sink's record of what it received,
 * and the load generator's log of acknowledged changes.
 */
export interface AuditInput {
  /** Single-host URLs of the database nodes; the audit reads the one that accepts writes. */
  databaseUrls: string[];
  /** provider name → emulator base URL */
  providers: Record<string, string>;
  amqpUrl: string;
  /** The audit's queue, bound to every routing key of the `orders` exchange before any traffic. */
  queue: string;
  emailRecordsUrl: string;
  ackLog: string;
  /** The deadlines the instances ran with, given explicitly (the audit reads no configuration of theirs). */
  deadlines: Deadlines;
}

/**
 * The settings that bound how long anything may stay open, as the instances were started with them:
 * RECONCILE_AFTER_MS, RECONCILE_INTERVAL_MS, RECONCILE_LEASE_MS, RECONCILE_NOT_FOUND_GRACE_MS,
 * RECONCILE_UNANSWERED_CHARGE_MS, RECONCILE_RETRY_MAX_MS, PAYMENT_ACTION_TIMEOUT_SECONDS (in ms), and
 * how long after its start a payment session the customer left expires at the provider.
 */
export interface Deadlines {
  reconcileAfterMs: number;
  reconcileIntervalMs: number;
  leaseMs: number;
  notFoundGraceMs: number;
  unansweredChargeMs: number;
  retryMaxMs: number;
  actionTimeoutMs: number;
  providerSessionMs: number;
}

/**
 * How long after it was created anything open (a charge, a movement, a message, an order waiting for
 * its customer) may stay so under those settings: its request's hold, the longest grace it can be
 * waited through (never heard of, never answered, the customer's action or the provider's session),
 * a killed reconciler pass's lease, one backoff at its cap and one reconciler interval, and 30 s for a
 * pass's own work on a loaded machine. Past it, open is stuck.
 */
export function settleHorizonMs(d: Deadlines): number {
  const grace = Math.max(d.notFoundGraceMs, d.unansweredChargeMs, d.actionTimeoutMs, d.providerSessionMs);
  return d.reconcileAfterMs + grace + d.leaseMs + d.retryMaxMs + d.reconcileIntervalMs + 30_000;
}

export interface ProviderMovement {
  id: string;
  amount: number;
  ledgerId: string | null;
}
export interface ProviderPayment {
  provider: string;
  id: string;
  transactionId: string | null;
  currency: string;
  held: number;
  captured: number;
  captures: ProviderMovement[];
  refunds: (ProviderMovement & { status: 'succeeded' | 'pending' | 'failed' })[];
}

export interface Message {
  id: string;
  type: string;
  order_id: string | null;
  refund_id: string | null;
}

export async function primaryClient(urls: string[]): Promise<pg.Client> {
  for (const url of urls) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ transaction_read_only: string }>('show transaction_read_only');
      if (rows[0]?.transaction_read_only === 'off') return client;
    } catch {
      // down, or a standby
    }
    await client.end().catch(() => undefined);
  }
  throw new Error(`no database node accepts writes (${urls.join(', ')})`);
}

/**
 * A JSON request to an emulator's control endpoint. Some emulators speak only HTTPS, with a throw-away
 * CA named by NODE_EXTRA_CA_CERTS; Node reads that variable only when it starts, and the soak sets it
 * once running, so the CA is given to the request here.
 */
export async function emulatorRequest(
  url: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const target = new URL(url);
  const caFile = process.env.NODE_EXTRA_CA_CERTS;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options = { method, headers: payload ? { 'content-type': 'application/json' } : {} };
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as unknown) : null }));
      res.on('error', reject);
    };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { ...options, ...(caFile && { ca: readFileSync(caFile) }) }, done)
        : httpRequest(target, options, done);
    req.on('error', reject);
    req.end(payload);
  });
}

export async function readProviders(providers: Record<string, string>): Promise<ProviderPayment[]> {
  const all: ProviderPayment[] = [];
  for (const [provider, url] of Object.entries(providers)) {
    const res = await emulatorRequest(`${url}/__emulator/records`);
    if (res.status !== 200) throw new Error(`${provider} emulator records: ${res.status}`);
    const { payments } = res.json as { payments: Omit<ProviderPayment, 'provider'>[] };
    all.push(...payments.map((p) => ({ ...p, provider })));
  }
  return all;
}

export async function declareAuditQueue(amqpUrl: string, queue: string): Promise<void> {
  const conn = await connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange('orders', 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, 'orders', '#');
  } finally {
    await conn.close();
  }
}

/** Every message waiting in the audit's queue (duplicates kept: the checks drop them by id). */
export async function readBroker(amqpUrl: string, queue: string): Promise<Message[]> {
  const conn = await connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    const out: Message[] = [];
    for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) {
      const body = JSON.parse(m.content.toString('utf8')) as {
        id?: string;
        type?: string;
        order_id?: string;
        data?: { refund?: { id?: string } };
      };
      out.push({
        id: String(m.properties.messageId ?? body.id),
        type: m.fields.routingKey,
        order_id: body.order_id ?? null,
        refund_id: body.data?.refund?.id ?? null,
      });
    }
    return out;
  } finally {
    await conn.close();
  }
}

export async function readEmails(url: string): Promise<Message[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`email sink records: ${res.status}`);
  const mails = (await res.json()) as { id: string; kind: string; order_id: string | null }[];
  return mails.map((m) => ({ id: m.id, type: m.kind, order_id: m.order_id, refund_id: null }));
}

export type Ack = { type: string; [k: string]: unknown };

export function readAcks(file: string): Ack[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ack);
}
