import type { Kysely } from 'kysely';
import type { Deps } from '../application/deps.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Database } from '../persistence/tables.js';
import { startHousekeeping } from './housekeeping.js';
import type { OutboxMetrics } from './outbox-metrics.js';
import { createOutboxRelay } from './outbox-relay.js';
import { startPaymentReconciler } from './payment-reconciler.js';

export interface Workers {
  /** Stops every worker; each finishes what it has in flight first. */
  stop(): Promise<void>;
}

interface Common {
  config: Readonly<Config>;
  logger: Logger;
  /** Counters of the app's registry (the API process); a relay alone has no /metrics. */
  metrics?: OutboxMetrics;
  /** Names this instance in logs and in the broker's connection list. */
  name?: string;
}

/**
 * `all`: what the API process runs beside its routes — the outbox relay, the
 * payment reconciler and housekeeping, on the app's own dependencies.
 * `relay`: the outbox relay alone (`npm run relay`), which needs no payment
 * provider and so no Deps. The one place both processes wire their workers.
 */
export type StartWorkersOptions = Common & ({ jobs: 'all'; deps: Deps } | { jobs: 'relay'; db: Kysely<Database> });

export function startWorkers(opts: StartWorkersOptions): Workers {
  const { config, logger, metrics, name } = opts;
  const db = opts.jobs === 'all' ? opts.deps.db : opts.db;
  const relay = createOutboxRelay({ db, config, logger, metrics, name });
  relay.start();
  const workers: { stop(): Promise<void> }[] = [relay];
  if (opts.jobs === 'all') {
    workers.push(
      startPaymentReconciler(opts.deps, config.workers.reconcileIntervalMs),
      startHousekeeping(opts.deps, { outboxRetentionHours: config.workers.outbox.retentionHours }),
    );
  }
  return {
    stop: async () => {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}
