import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { AMQP_URL } from '../../helpers/outbox/amqp.js';

const run = promisify(execFile);

/**
 * The machine's RabbitMQ, stopped and started for real (`rabbitmqctl stop_app` /
 * `start_app`: the node stays up, the broker application and its listeners go
 * away, every connection is closed, new ones are refused). It is shared with
 * every other suite, which is why these tests live in test/disruptive/ and run
 * alone, after the main suite (vitest.disruptive.config.ts).
 */
export async function stopBroker(): Promise<void> {
  await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
}

export async function startBroker(): Promise<void> {
  await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
}

/** True when a client can open a connection (and a channel) right now. */
export async function brokerAccepts(): Promise<boolean> {
  const conn = await connect(AMQP_URL, { timeout: 2_000 }).catch(() => null);
  if (!conn) return false;
  conn.on('error', () => undefined);
  try {
    await conn.createChannel();
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Starts the broker (harmless when it runs) and waits until it accepts connections again. */
export async function ensureBrokerUp(timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let started: unknown = null;
  await startBroker().catch((err: unknown) => (started = err));
  while (!(await brokerAccepts())) {
    if (Date.now() > until)
      throw new Error(`RabbitMQ does not accept connections again${started ? ` (start_app: ${String(started)})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A durable queue of the test's own, bound to `#` on `orders`: it and its persistent messages survive the restart. */
export async function declareDurableQueue(name: string): Promise<void> {
  const conn = await connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange('orders', 'topic', { durable: true });
    // x-expires removes a queue that a crashed run forgot.
    await ch.assertQueue(name, { durable: true, arguments: { 'x-expires': 300_000 } });
    await ch.bindQueue(name, 'orders', '#');
  } finally {
    await conn.close();
  }
}

/** Takes every message waiting in the queue; returns their parsed bodies and properties. */
export async function drainQueue(
  name: string,
): Promise<
  { messageId: string; routingKey: string; deliveryMode: number | undefined; body: Record<string, unknown> }[]
> {
  const conn = await connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const out = [];
    for (let m = await ch.get(name, { noAck: true }); m; m = await ch.get(name, { noAck: true })) {
      out.push({
        messageId: String(m.properties.messageId),
        routingKey: m.fields.routingKey,
        deliveryMode: m.properties.deliveryMode as number | undefined,
        body: JSON.parse(m.content.toString('utf8')) as Record<string, unknown>,
      });
    }
    return out;
  } finally {
    await conn.close();
  }
}

export async function deleteQueue(name: string): Promise<void> {
  const conn = await connect(AMQP_URL).catch(() => null);
  if (!conn) return;
  conn.on('error', () => undefined);
  try {
    await (await conn.createChannel()).deleteQueue(name);
  } catch {
    // gone already
  } finally {
    await conn.close().catch(() => undefined);
  }
}
