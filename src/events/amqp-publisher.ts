import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { EventPayload } from '../domain/messages.js';
import type { Logger } from '../observability/logger.js';

export interface EventPublisher {
  /** Resolves only once the broker has confirmed the message (publisher confirms). */
  publish(event: EventPayload, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface AmqpPublisherOptions {
  /** AMQP_URL */
  url: string;
  logger: Logger;
  /** Bounds connecting and waiting for a confirm; a stalled broker costs one timeout. */
  timeoutMs: number;
  /** Shown in the broker's connection list (and lets tests find this connection). */
  connectionName?: string;
}

/** The contract's exchange: durable, topic, routing key = event type. */
const EVENTS_EXCHANGE = 'orders';

interface Link {
  model: ChannelModel;
  channel: ConfirmChannel;
}

/**
 * Publishes order events to RabbitMQ over one confirm channel.
 *
 * Reconnection is lazy: when the connection or channel closes (broker restart,
 * forced close, network loss) the link is dropped, the failed publishes throw
 * and the relay reschedules their rows; the next publish opens a new link.
 * amqplib's own recovery mode is not used on purpose: while it reconnects, its
 * channel operations wait instead of failing, which would park a claimed batch
 * behind an outage instead of handing it back to the outbox's backoff.
 */
export function createAmqpPublisher(opts: AmqpPublisherOptions): EventPublisher {
  const { logger } = opts;
  let active: Link | null = null;
  let connecting: Promise<Link> | null = null;
  let closed = false;

  const drop = (link: Link, why: string): void => {
    if (active !== link) return;
    active = null;
    logger.warn({ reason: why }, 'AMQP link dropped; the next event delivery reconnects');
    // Best effort: the socket may already be gone, and close errors say nothing new.
    link.model.close().catch(() => undefined);
  };

  async function open(): Promise<Link> {
    const model = await connect(opts.url, {
      timeout: opts.timeoutMs,
      clientProperties: { connection_name: opts.connectionName ?? 'order-api outbox relay' },
    });
    // Without these listeners an 'error' event would be an uncaught exception: never crash on a broker hiccup.
    model.on('error', (err: Error) => logger.warn({ err }, 'AMQP connection error'));
    model.on('blocked', (reason: string) => logger.warn({ reason }, 'AMQP connection blocked by the broker'));
    let channel: ConfirmChannel;
    try {
      channel = await model.createConfirmChannel();
      channel.on('error', (err: Error) => logger.warn({ err }, 'AMQP channel error'));
      await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    const link: Link = { model, channel };
    model.on('close', () => drop(link, 'connection closed'));
    channel.on('close', () => drop(link, 'channel closed'));
    if (closed) {
      await model.close().catch(() => undefined);
      throw new Error('event publisher is closed');
    }
    active = link;
    logger.info({ exchange: EVENTS_EXCHANGE }, 'AMQP connected');
    return link;
  }

  function link(): Promise<Link> {
    if (closed) return Promise.reject(new Error('event publisher is closed'));
    if (active) return Promise.resolve(active);
    // Concurrent deliveries share one connection attempt.
    connecting ??= open().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  return {
    async publish(event: EventPayload, signal: AbortSignal): Promise<void> {
      signal.throwIfAborted();
      const l = await link();
      const body = Buffer.from(JSON.stringify(event));
      const props: Options.Publish = {
        persistent: true,
        messageId: event.id,
        contentType: 'application/json',
        type: event.type,
        timestamp: Math.floor(Date.parse(event.occurred_at) / 1000),
        appId: 'order-api',
      };
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = (): void => fail(new Error('event delivery aborted before the broker confirmed'));
        // No confirm in time: the broker is stalled or the link half-dead; reconnect next time.
        const timer = setTimeout(() => {
          drop(l, 'publisher confirm timed out');
          fail(new Error(`no publisher confirm within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          l.channel.publish(EVENTS_EXCHANGE, event.type, body, props, (err: unknown) => {
            if (err) return fail(err instanceof Error ? err : new Error('broker rejected (nacked) the message'));
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
        } catch (err) {
          // The channel closed between link() and here (IllegalOperationError).
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },

    async close(): Promise<void> {
      closed = true;
      const pending = connecting;
      if (pending) await pending.catch(() => undefined);
      const l = active;
      active = null;
      // A half-open socket would leave close() waiting for a close-ok that never comes: shutdown must not hang.
      if (l)
        await Promise.race([
          l.model.close().catch(() => undefined),
          new Promise((r) => setTimeout(r, opts.timeoutMs).unref()),
        ]);
    },
  };
}
