import closeWithGrace from 'close-with-grace';
import { hostname } from 'node:os';
import { loadConfigOrExit } from '../config.js';
import { createJsonLogger } from '../observability/logger.js';
import { startTracing } from '../observability/tracing.js';

/**
 * `npm run relay`: the outbox relay alone, for deployments that scale it apart
 * from the API. Any number may run against one PostgreSQL; on SIGTERM/SIGINT
 * each finishes and records its batch in flight before exiting.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createJsonLogger(config.logLevel, { name: 'outbox-relay' });
  if (!/^postgres(ql)?:\/\//.test(config.database.url)) {
    // Embedded PGlite lives inside one process: the server's. It runs its own relay already.
    console.error(
      'npm run relay needs DATABASE_URL=postgres://…; with the embedded database the server runs the relay itself.',
    );
    process.exit(1);
  }

  // Before the modules that talk to the outside load: their instrumentations patch them on import.
  const tracing = await startTracing();
  const { createDb } = await import('../persistence/db.js');
  const { migrateToLatest } = await import('../persistence/migrations/index.js');
  const { startWorkers } = await import('./start-workers.js');
  const database = await createDb(config.database);
  await migrateToLatest(database.db as never);
  const relay = startWorkers({
    jobs: 'relay',
    db: database.db,
    config,
    logger,
    name: `outbox-relay@${hostname()}:${process.pid}`,
  });

  closeWithGrace({ delay: config.workers.outbox.deliveryTimeoutMs * 2 + 5_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error, stopping the relay');
    else logger.info({ signal }, 'stopping the relay: finishing the batch in flight');
    await relay.stop();
    await database.close();
    await tracing?.shutdown();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
