import { defineConfig } from 'vitest/config';
import { PROJECT_FILES } from './vitest.tiers.js';

/**
 * Suites that disturb services shared by every other suite (they stop and
 * restart the machine's RabbitMQ). `npm test` runs them after the main suite,
 * one file at a time; `npm run test:disruptive` runs them alone.
 */
export default defineConfig({
  test: {
    include: PROJECT_FILES.disruptive.include,
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 150_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default'],
    globalSetup: ['test/helpers/run-scratch.setup.ts'],
    env: { NODE_ENV: 'test' },
  },
});
