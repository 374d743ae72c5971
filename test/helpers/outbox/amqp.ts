import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type ConsumeMessage } from 'amqplib';

const run = promisify(execFile);

/** The machine's RabbitMQ. Not optional: when it is down these suites fail. */
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface EventConsumer {
  /** Messages received so far on this test's own queue, in arrival order. */
  messages: ConsumeMessage[];
  bodies(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * A consumer on the contract's exchange with an exclusive, auto-deleted queue
 * of its own, bound to every routing key: other suites publishing to `orders`
 * at the same time only add messages that the tests filter out by event id.
 */
export async function consumeOrderEvents(): Promise<EventConsumer> {
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `outbox-test-consumer-${randomUUID()}` },
  });
  conn.on('error', () => undefined);
  const ch = await conn.createChannel();
  await ch.assertExchange('orders', 'topic', { durable: true });
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, 'orders', '#');
  const messages: ConsumeMessage[] = [];
  await ch.consume(queue, (m) => void (m && messages.push(m)), { noAck: true });
  return {
    messages,
    bodies: () => messages.map((m) => JSON.parse(m.content.toString('utf8')) as Record<string, unknown>),
    close: async () => {
      await conn.close().catch(() => undefined);
    },
  };
}

/**
 * Closes the broker side of every connection whose client named itself
 * `name`, as `rabbitmqctl` does to all connections when the broker shuts
 * down (320 CONNECTION_FORCED). Resolves with how many it closed.
 */
export async function forceCloseConnections(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'));
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'outbox test: forced close']);
  return pids.length;
}
