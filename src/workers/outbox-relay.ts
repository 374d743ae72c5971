import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../persistence/tables.js';
import { backoffDelayMs } from './backoff.js';
import { describeError, PermanentDeliveryError } from './delivery-errors.js';
import type { Logger } from '../observability/logger.js';
import { withSpan } from '../observability/tracing.js';
import { createDeliverers, type Deliverers } from './outbox-deliverers.js';
import type { OutboxMetrics } from './outbox-metrics.js';
import { createOutageLog } from './outage-log.js';
import { claimDue, markDelivered, markFailed, type ClaimedRow, type OutboxKind } from '../persistence/outbox-queue.js';

type OutboxRelayConfig = Pick<Config, 'email' | 'amqpUrl'> & {
  workers: Pick<Config['workers'], 'relayIntervalMs' | 'outbox'>;
};

export interface OutboxRelayDeps {
  db: Kysely<Database>;
  config: OutboxRelayConfig;
  logger: Logger;
  metrics?: OutboxMetrics;
  /** Names this instance in logs and in the broker's connection list. */
  name?: string;
  /** Replaces the transports built from config (tests, or another wiring). */
  deliverers?: () => Deliverers;
  /** The jitter source; tests pin it. */
  random?: () => number;
}

export interface OutboxRelay {
  /** Polls until stop(); a full batch is followed at once by the next one. */
  start(): void;
  /** Stops polling, lets the batch in flight finish and be marked, then closes the transports. */
  stop(): Promise<void>;
  /** Claims and delivers one batch; resolves with the number of rows claimed. */
  runOnce(): Promise<number>;
}

/**
 * The outbox relay: claim due rows under a lease (persistence/outbox-queue.ts), deliver the
 * batch concurrently outside any transaction, mark each row as soon as its own
 * delivery settles. docs/adr/ (outbox relay) explains why a lease and not a
 * transaction held across the network.
 */
export function createOutboxRelay(deps: OutboxRelayDeps): OutboxRelay {
  const { db, config, logger, metrics } = deps;
  const opts = config.workers.outbox;
  const random = deps.random ?? Math.random;
  // Each delivery is cut off at deliveryTimeoutMs, so a batch lasts about one timeout; the lease is twice
  // that plus 5 s for the marks, so in the normal case it never runs out while this relay still works on it.
  // It is also how long the rows of a relay killed mid-batch wait before another relay takes them.
  const leaseMs = opts.deliveryTimeoutMs * 2 + 5_000;

  let deliverers: Deliverers | null = null;
  let loop: Promise<void> | null = null;
  let stopping = false;
  let wake: (() => void) | null = null;
  const inFlight = new Set<Promise<number>>();

  const getDeliverers = (): Deliverers => {
    deliverers ??= deps.deliverers ? deps.deliverers() : createDeliverers(config, logger, deps.name);
    return deliverers;
  };

  /** In the trace of the change that wrote the message: the transports send it on (traceparent). */
  function deliverOne(row: ClaimedRow, d: Deliverers): Promise<void> {
    const parent = row.traceparent ? { traceparent: row.traceparent, tracestate: row.tracestate } : null;
    const attributes = {
      'messaging.system': 'outbox',
      'messaging.operation.type': 'send',
      'messaging.message.id': row.id,
      'messaging.destination.name': row.topic,
      'outbox.kind': row.kind,
      'outbox.attempt': row.attempts,
    };
    return withSpan(`outbox deliver ${row.kind}`, { kind: 'producer', parent, root: !parent, attributes }, () =>
      deliverAndMark(row, d),
    );
  }

  async function deliverAndMark(row: ClaimedRow, d: Deliverers): Promise<void> {
    const deliver = d.byKind[row.kind];
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`delivery timed out after ${opts.deliveryTimeoutMs} ms`)),
      opts.deliveryTimeoutMs,
    );
    let failure: unknown = null;
    try {
      if (!deliver) throw new Error(`no transport for ${row.kind} messages`);
      // The race bounds even a transport that ignores the signal; its late success is a duplicate at worst.
      await Promise.race([deliver(row, controller.signal), aborted(controller.signal)]);
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(timer);
    }
    try {
      if (failure === null) await onDelivered(row);
      else await onFailed(row, failure);
    } catch (err) {
      // The row keeps its lease and comes back when it expires: at least once, never lost.
      logger.error({ err, outbox_id: row.id }, 'outbox relay: could not record a delivery outcome');
    }
  }

  async function onDelivered(row: ClaimedRow): Promise<void> {
    const marked = await markDelivered(db, row);
    metrics?.delivered(row.kind);
    if (!marked)
      logger.warn({ outbox_id: row.id }, 'outbox relay: delivered after losing its lease (possible duplicate)');
    logger.debug(
      { outbox_id: row.id, kind: row.kind, topic: row.topic, attempts: row.attempts },
      'outbox message delivered',
    );
  }

  async function onFailed(row: ClaimedRow, err: unknown): Promise<void> {
    const dead = err instanceof PermanentDeliveryError || row.attempts >= opts.maxAttempts;
    const retryInMs = dead
      ? 0
      : backoffDelayMs(row.attempts, { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs }, random);
    await markFailed(db, row, describeError(err), { dead, retryInMs });
    metrics?.failed(row.kind);
    if (dead) metrics?.deadLettered(row.kind);
    const fields = { outbox_id: row.id, kind: row.kind, topic: row.topic, attempts: row.attempts, err };
    if (dead) logger.error(fields, 'outbox message is dead: an admin can retry it (POST /api/admin/outbox/{id}/retry)');
    else logger.warn({ ...fields, retry_in_ms: retryInMs }, 'outbox delivery failed; will retry');
  }

  async function batch(): Promise<number> {
    const d = getDeliverers();
    const kinds = Object.keys(d.byKind) as OutboxKind[];
    const rows = await claimDue(db, kinds, opts.batchSize, leaseMs);
    await Promise.all(rows.map((row) => deliverOne(row, d)));
    return rows.length;
  }

  function runOnce(): Promise<number> {
    const p = batch();
    inFlight.add(p);
    const forget = (): void => void inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  async function poll(): Promise<void> {
    const outage = createOutageLog(logger, 'outbox relay: claiming a batch');
    while (!stopping) {
      let claimed = 0;
      try {
        claimed = await runOnce();
        outage.succeeded();
      } catch (err) {
        // The database being away is no reason to die: try again after the interval.
        outage.failed(err);
      }
      if (stopping) break;
      if (claimed < opts.batchSize) await sleep(config.workers.relayIntervalMs);
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  return {
    start() {
      if (loop) return;
      stopping = false;
      loop = poll();
      logger.info(
        { relay: deps.name, email_transport: getDeliverers().emailTransport, events: !!getDeliverers().byKind.event },
        'outbox relay started',
      );
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight]);
      loop = null;
      const d = deliverers;
      deliverers = null;
      await d?.close();
    },
    runOnce,
  };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('delivery aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
