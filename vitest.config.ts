import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites that stop shared services (the machine's RabbitMQ): run alone, after this suite,
    // by vitest.disruptive.config.ts (`npm test` runs both).
    exclude: [...configDefaults.exclude, 'test/disruptive/**'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share the one PostgreSQL server, each in its own schema.
    fileParallelism: true,
    pool: 'forks',
    reporters: ['default'],
    env: { NODE_ENV: 'test' },
  },
});
