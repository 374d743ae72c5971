import closeWithGrace from 'close-with-grace';
import type { Faults } from './application/deps.js';
import { loadConfigOrExit } from './config.js';
import { startTracing } from './observability/tracing.js';

/** Process entry: config → tracing → database → app → listen; drains and closes on SIGTERM/SIGINT. */
async function main() {
  const config = loadConfigOrExit();
  // Before the app's modules load: the instrumentations patch pg, amqplib, pino… as they are imported.
  const tracing = await startTracing();
  const { buildApp } = await import('./app.js');
  const { createDb } = await import('./persistence/db.js');
  const { migrateToLatest } = await import('./persistence/migrations/index.js');
  const { seedDemoCatalog } = await import('./persistence/seed.js');
  const { startWorkers } = await import('./workers/start-workers.js');

  const database = await createDb(config.database);
  await migrateToLatest(database.db as never);
  if (database.embedded) await seedDemoCatalog(database.db);

  const crash = () => process.kill(process.pid, 'SIGKILL');
  const fault = config.env === 'production' ? undefined : process.env.ORDER_API_FAULT;
  const faults: Faults | undefined =
    fault === 'crash-after-charge'
      ? { afterCharge: crash }
      : fault === 'crash-after-capture'
        ? { afterCapture: crash }
        : fault === 'crash-after-action'
          ? { afterActionCompleted: crash }
          : undefined;
  const app = await buildApp({ config, db: database.db, faults });
  if (config.jwt.devSecret)
    app.log.info('using the development JWT secret in ./data; mint a token with `npm run token -- --sub alice`');
  if (config.devIdp)
    app.log.info(
      `development OpenID provider at ${config.devIdp.issuer} (any user name signs in); the console: ${config.publicBaseUrl}/admin`,
    );

  const workers = config.workers.enabled
    ? startWorkers({ jobs: 'all', deps: app.deps, config, logger: app.log, metrics: app.outboxMetrics })
    : null;

  closeWithGrace({ delay: 25_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down: draining requests');
    if (!err) {
      app.drain(); // GETs 503 and Connection: close, so the balancer lets go of us first (drain.ts)
      await new Promise((resolve) => setTimeout(resolve, config.http.drainDelayMs));
    }
    await app.close(); // stops accepting, waits for in-flight requests
    await workers?.stop();
    await database.close();
    await tracing?.shutdown();
  });

  await app.listen({ port: config.port, host: config.host });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
