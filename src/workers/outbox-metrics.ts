import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxKind } from '../persistence/outbox-queue.js';
import { readOutboxDepth, type OutboxDepth as Snapshot } from '../persistence/outbox-stats.js';
import type { Database } from '../persistence/tables.js';

/** What the relay reports as it works; the gauges read the table at scrape time. */
export interface OutboxMetrics {
  delivered(kind: OutboxKind): void;
  failed(kind: OutboxKind): void;
  deadLettered(kind: OutboxKind): void;
}

const KINDS: readonly OutboxKind[] = ['email', 'event'];

/**
 * Registers the outbox metrics on the app's registry. Counters count what this
 * process did; gauges describe the shared table, so every instance reports the
 * same depth (aggregate them with max, not sum). One query per scrape feeds
 * all three gauges.
 */
export function registerOutboxMetrics(registry: Registry, deps: { db: Kysely<Database> }): OutboxMetrics {
  let current: Promise<Snapshot | null> | null = null;
  // A scrape runs every collect() at once: the first starts the query, the others share it while in flight.
  const snapshot = (): Promise<Snapshot | null> => {
    current ??= readOutboxDepth(deps.db)
      .catch(() => null) // a database outage must not break /metrics: the gauges keep their last values
      .finally(() => {
        current = null;
      });
    return current;
  };
  const gauge = (name: string, help: string, pick: (s: Snapshot) => Record<OutboxKind, number>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        if (s) for (const kind of KINDS) this.set({ kind }, pick(s)[kind]);
      },
    });
  };
  gauge('outbox_pending_messages', 'Outbox messages waiting for delivery (the outbox depth).', (s) => s.pending);
  gauge(
    'outbox_oldest_pending_age_seconds',
    'Age of the oldest message waiting for delivery; 0 when none waits.',
    (s) => s.oldestPendingAge,
  );
  gauge('outbox_dead_messages', 'Outbox messages that ran out of attempts and wait for an admin retry.', (s) => s.dead);

  const counter = (name: string, help: string): Counter<'kind'> => {
    const c = new Counter({ name, help, labelNames: ['kind'], registers: [registry] });
    for (const kind of KINDS) c.inc({ kind }, 0); // series exist from the start, so rate() works at once
    return c;
  };
  const deliveries = counter('outbox_deliveries_total', 'Outbox messages delivered by this process.');
  const failures = counter('outbox_delivery_failures_total', 'Failed outbox delivery attempts in this process.');
  const deadLettered = counter('outbox_dead_lettered_total', 'Outbox messages this process marked dead.');

  return {
    delivered: (kind) => deliveries.inc({ kind }),
    failed: (kind) => failures.inc({ kind }),
    deadLettered: (kind) => deadLettered.inc({ kind }),
  };
}
