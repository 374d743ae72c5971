import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * Global setup of the pglite project: initdb once, here, rather than once per test file. Starting
 * PGlite from scratch costs about 4 s of CPU; from this dump, about 0.5 s. Nothing is migrated or
 * seeded: every file still gets an empty database of its own and runs the migrations itself.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const path = join(tmpdir(), `order-api-pglite-template-${randomBytes(6).toString('hex')}.tar`);
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', DUMP, path], { cwd: project.config.root });
  project.provide('pgliteTemplate', path);
  return () => rm(path, { force: true });
}
