import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Global setup of every test project: one scratch directory for the run, named to the workers (forked
 * after this runs, with this process's environment) by ORDER_API_TEST_SCRATCH, and removed with all
 * it holds when the run ends. Files a worker must keep for the whole run — the throw-away CA the
 * service's children trust (test/emulators/tls.ts) — go there: a worker cannot remove them itself,
 * since vitest's forks end without the `exit` event and a service started from a test may still
 * read them.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'order-api-test-run-'));
  process.env.ORDER_API_TEST_SCRATCH ??= dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
