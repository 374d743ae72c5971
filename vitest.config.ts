import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { checkTiers, PROJECT_FILES } from './vitest.tiers.js';

/**
 * Four tiers (README, "Tests"), each chosen by a test file's name (vitest.tiers.ts): this config holds
 * the first three, vitest.disruptive.config.ts the fourth. `npm test` runs them in order,
 * `npm run test:quick` only `unit` and `pglite`.
 *
 * - unit (`x.test.ts`): pure functions, no I/O.
 * - pglite (`x.pglite.test.ts`): use cases and HTTP on the embedded database, payment providers faked
 *   at the wire by the in-process emulators (test/emulators); needs no service at all.
 * - services (`x.services.test.ts`): everything that needs the machine's PostgreSQL, Redis, RabbitMQ,
 *   nginx or Chromium.
 *
 * A file that runs on both databases (`x.db.test.ts`, `describe.each(DATABASES)`, test/helpers/db.ts)
 * belongs to pglite and services; TEST_DATABASES gives each its half, so nothing runs twice.
 */
// A file whose name and source disagree, or that no project (or two) would take, stops the run here.
checkTiers(import.meta.dirname);

// One worker more than the cores (vitest's default is one less): much of a pglite file's time is spent
// waiting on provider timeouts it provokes (payments-faults, the provider contract), and a third worker
// keeps both cores of a 2-core machine busy meanwhile: test:quick 61–62 s with two, 53–56 s with three.
const PGLITE_WORKERS = availableParallelism() + 1;

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share the one PostgreSQL server, each in its own schema.
    fileParallelism: true,
    pool: 'forks',
    reporters: ['default'],
    globalSetup: ['test/helpers/run-scratch.setup.ts'],
    projects: [
      {
        extends: true,
        // Beside pglite, in its group (and so with its workers): its files are small, and run while
        // the pglite files wait on their databases and provider timeouts.
        test: {
          name: 'unit',
          include: PROJECT_FILES.unit.include,
          exclude: [...configDefaults.exclude, ...PROJECT_FILES.unit.exclude],
          env: { NODE_ENV: 'test' },
          maxWorkers: PGLITE_WORKERS,
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: PROJECT_FILES.pglite.include,
          exclude: [...configDefaults.exclude, ...PROJECT_FILES.pglite.exclude],
          env: { NODE_ENV: 'test', TEST_DATABASES: 'pglite' },
          globalSetup: ['test/helpers/pglite-template.setup.ts'],
          maxWorkers: PGLITE_WORKERS,
          // Each file still builds its own app on its own database; only the modules (the app, the
          // provider SDKs: over a second of CPU per file to import) are loaded once per worker.
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'services',
          include: PROJECT_FILES.services.include,
          // Suites that stop shared services (the machine's RabbitMQ) run alone, after this suite,
          // by vitest.disruptive.config.ts.
          exclude: [...configDefaults.exclude, ...PROJECT_FILES.services.exclude],
          env: { NODE_ENV: 'test', TEST_DATABASES: 'postgres' },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
