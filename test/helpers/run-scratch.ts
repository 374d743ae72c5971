import { tmpdir } from 'node:os';

/**
 * Where a test writes files for the run: the run's scratch directory (run-scratch.setup.ts), which
 * vitest's global teardown removes; the system's temporary directory outside vitest.
 */
export const runScratch = (): string => process.env.ORDER_API_TEST_SCRATCH ?? tmpdir();
