import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A tar of an empty, freshly initialised PGlite data directory (test/helpers/db.ts). */
    pgliteTemplate: string | undefined;
  }
}

// In a child process, so that the main process of vitest does not hold PGlite's memory for the run.
const DUMP = `
import { writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
const pglite = new PGlite();
await pglite.waitReady;
const dump = await pglite.dumpDataDir('none');
writeFileSync(process.argv[1], Buffer.from(await dump.arrayBuffer()));
await pglite.close();
`;

/**
 * Global setup of the pglite project: initdb once rather than once per test file. Starting PGlite
 * from scratch costs about 4 s of CPU; from this dump, under a second. The dump is kept between
 * runs in node_modules/.cache, named for the PGlite version that made it (another version's initdb
 * may differ), so only the first run after `npm ci` pays for it, and even then the tests do not
 * wait for it to start: the unit files run and the workers load their modules meanwhile, and the
 * first file that needs a database waits for the dump to appear (test/helpers/db.ts). Nothing is
 * migrated or seeded: every file still gets an empty database of its own and runs the migrations.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = project.config.root;
  const { version } = JSON.parse(
    await readFile(join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  const path = join(root, 'node_modules/.cache/order-api', `pglite-template-${version}.tar`);
  project.provide('pgliteTemplate', path);
  if (existsSync(path)) return async () => undefined;
  await mkdir(dirname(path), { recursive: true });
  await rm(failedMarker(path), { force: true });
  // Written aside and renamed, so that a run stopped half-way never leaves half a dump behind.
  const partial = `${path}.${randomBytes(6).toString('hex')}`;
  const making = promisify(execFile)(process.execPath, ['--input-type=module', '-e', DUMP, partial], { cwd: root })
    .then(() => rename(partial, path))
    // Said where the waiting files will read it, rather than leaving them to time out.
    .catch((err: unknown) =>
      writeFile(
        failedMarker(path),
        `making the PGlite dump failed: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
  return async () => {
    await making;
  };
}

/** Next to the dump when making it failed, holding why (test/helpers/db.ts reads it). */
export function failedMarker(dumpPath: string): string {
  return `${dumpPath}.failed`;
}
