import type { Config } from '../config.js';
import type { Order } from '../domain/order.js';
import { createAmqpPublisher } from '../events/amqp-publisher.js';
import type { EmailTransport } from '../notifications/email.js';
import { createHttpEmailTransport } from '../notifications/http-transport.js';
import { createLogEmailTransport } from '../notifications/log-transport.js';
import { createSmtpEmailTransport } from '../notifications/smtp-transport.js';
import { isEmailKind, renderEmail } from '../notifications/templates/index.js';
import { EVENT_TYPES, type EmailPayload, type EventPayload } from '../domain/messages.js';
import { PermanentDeliveryError } from './delivery-errors.js';
import type { Logger } from '../observability/logger.js';
import type { ClaimedRow, OutboxKind } from '../persistence/outbox-queue.js';

/** Delivers one claimed row; throws to have it retried. */
type Deliver = (row: ClaimedRow, signal: AbortSignal) => Promise<void>;

export interface Deliverers {
  /** Only the kinds present here are claimed: without AMQP_URL, events wait in the outbox. */
  byKind: Partial<Record<OutboxKind, Deliver>>;
  /** The transport behind emails, for logs: http | smtp | log. */
  emailTransport: EmailTransport['name'];
  close(): Promise<void>;
}

export type DelivererConfig = Pick<Config, 'email' | 'amqpUrl'> & {
  workers: { outbox: { deliveryTimeoutMs: number } };
};

/** EMAIL_URL → HTTP, SMTP_URL → SMTP, neither → the log (config.ts forbids both). */
function createEmailTransport(config: DelivererConfig, logger: Logger): EmailTransport {
  const timeoutMs = config.workers.outbox.deliveryTimeoutMs;
  if (config.email.url) return createHttpEmailTransport({ url: config.email.url, timeoutMs });
  if (config.email.smtpUrl) return createSmtpEmailTransport({ url: config.email.smtpUrl, timeoutMs });
  return createLogEmailTransport(logger);
}

export function createDeliverers(config: DelivererConfig, logger: Logger, connectionName?: string): Deliverers {
  const transport = createEmailTransport(config, logger);
  const publisher = config.amqpUrl
    ? createAmqpPublisher({
        url: config.amqpUrl,
        logger,
        timeoutMs: config.workers.outbox.deliveryTimeoutMs,
        connectionName,
      })
    : null;

  const email: Deliver = async (row, signal) => {
    const payload = readEmailPayload(row);
    await transport.send(
      {
        id: row.id,
        from: config.email.from,
        to: payload.to,
        order_id: payload.order_id,
        kind: payload.kind,
        ...render(payload),
      },
      signal,
    );
  };
  const event: Deliver | undefined = publisher
    ? (row, signal) => publisher.publish(readEventPayload(row), signal)
    : undefined;

  return {
    byKind: event ? { email, event } : { email },
    emailTransport: transport.name,
    async close() {
      await Promise.allSettled([transport.close(), publisher?.close()]);
    },
  };
}

function render(payload: EmailPayload): ReturnType<typeof renderEmail> {
  try {
    return renderEmail(payload.kind, payload.order, payload.extra);
  } catch (err) {
    throw new PermanentDeliveryError(`cannot render ${payload.kind} email: ${(err as Error).message}`, { cause: err });
  }
}

/** The payload is JSON written from emailMessage (domain/messages.ts); still checked, since a bad row must die, not loop. */
function readEmailPayload(row: ClaimedRow): EmailPayload {
  const p = row.payload as Partial<EmailPayload> | null;
  if (!p || typeof p !== 'object') throw new PermanentDeliveryError('email payload is not an object');
  if (typeof p.kind !== 'string' || !isEmailKind(p.kind))
    throw new PermanentDeliveryError(`unknown email kind ${String(p.kind)}`);
  if (typeof p.to !== 'string' || !p.to.includes('@'))
    throw new PermanentDeliveryError('email payload has no recipient');
  if (!p.order || typeof p.order !== 'object') throw new PermanentDeliveryError('email payload has no order');
  const extra = p.extra && typeof p.extra === 'object' ? { extra: p.extra } : {};
  return {
    id: row.id,
    kind: p.kind,
    to: p.to,
    order_id: p.order_id ?? (p.order as Order).id,
    order: p.order as Order,
    ...extra,
  };
}

function readEventPayload(row: ClaimedRow): EventPayload {
  const p = row.payload as Partial<EventPayload> | null;
  if (!p || typeof p !== 'object') throw new PermanentDeliveryError('event payload is not an object');
  if (!EVENT_TYPES.includes(p.type as never)) throw new PermanentDeliveryError(`unknown event type ${String(p.type)}`);
  if (p.id !== row.id) throw new PermanentDeliveryError('event payload id differs from its outbox row id');
  // Published exactly as stored: the stored payload is the contract's message body.
  return p as EventPayload;
}
