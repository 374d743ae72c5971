import { globSync, readFileSync } from 'node:fs';
import { basename, join, matchesGlob } from 'node:path';

/**
 * A test file's tier is in its name (README, "Tests"; docs/adr/0027-test-layout-and-tiers.md):
 *
 * | name                         | tier       | vitest project(s)     |
 * |------------------------------|------------|-----------------------|
 * | `x.test.ts`                  | unit       | unit                  |
 * | `x.pglite.test.ts`           | pglite     | pglite                |
 * | `x.db.test.ts`               | db         | pglite and services   |
 * | `x.services.test.ts`         | services   | services              |
 * | `test/disruptive/x.test.ts`  | disruptive | vitest.disruptive.config.ts |
 *
 * A `db` file runs its `describe.each(DATABASES)` on both databases: TEST_DATABASES, set per project,
 * gives the pglite project the PGlite half and the services project the PostgreSQL half.
 */
export type Tier = 'unit' | 'pglite' | 'db' | 'services' | 'disruptive';
export type Project = 'unit' | 'pglite' | 'services' | 'disruptive';

const SUFFIXES = ['pglite', 'db', 'services'] as const;

/** Each project's files, as vitest's include and exclude globs (relative to the repository). */
export const PROJECT_FILES: Record<Project, { include: string[]; exclude: string[] }> = {
  unit: { include: ['test/**/*.test.ts'], exclude: ['test/**/*.{pglite,db,services}.test.ts', 'test/disruptive/**'] },
  pglite: { include: ['test/**/*.{pglite,db}.test.ts'], exclude: ['test/disruptive/**'] },
  services: { include: ['test/**/*.{services,db}.test.ts'], exclude: ['test/disruptive/**'] },
  disruptive: { include: ['test/disruptive/**/*.test.ts'], exclude: [] },
};

const PROJECTS_OF: Record<Tier, Project[]> = {
  unit: ['unit'],
  pglite: ['pglite'],
  db: ['pglite', 'services'],
  services: ['services'],
  disruptive: ['disruptive'],
};

// What gives a file away as needing more than its name says. Cheap and obvious on purpose: the
// point is that a misnamed file fails the config load instead of running in the wrong tier or in none.
const RUNS_ON_BOTH_DATABASES = /^\s*describe\.each\(DATABASES\)/m;
const STARTS_SOMETHING =
  /^import [^;]*?from '[^']*(?:\/helpers\/(?:db|app|payments|http|server-process|crash-harness)|\/emulators\/|\/e2e\/support\/|\/src\/persistence\/db)\.js'/m;

/** The tier of the test file at `file` (relative to the repository, with `/`), given its source; throws when they disagree. */
export function tierOf(file: string, source: string): Tier {
  const word = /\.([^./]+)\.test\.ts$/.exec(basename(file))?.[1];
  const suffix = SUFFIXES.find((s) => s === word);
  if (word !== undefined && suffix === undefined)
    throw new Error(`${file}: "${word}" is no tier; name it x.test.ts, x.${SUFFIXES.join('.test.ts, x.')}.test.ts`);
  if (file.startsWith('test/disruptive/')) {
    if (suffix) throw new Error(`${file}: test/disruptive/ is a tier of its own; drop the .${suffix} suffix`);
    return 'disruptive';
  }
  const tier: Tier = suffix ?? 'unit';
  const both = RUNS_ON_BOTH_DATABASES.test(source);
  if (both && tier !== 'db')
    throw new Error(`${file}: it runs describe.each(DATABASES), so it is on both databases: name it *.db.test.ts`);
  if (!both && tier === 'db')
    throw new Error(
      `${file}: a *.db.test.ts file runs describe.each(DATABASES) (else it runs twice, once per project); rename it`,
    );
  if (tier === 'unit' && STARTS_SOMETHING.test(source))
    throw new Error(
      `${file}: a unit test does no I/O, but this one imports what starts a database, an app, an emulator or ` +
        `a process: name it *.pglite.test.ts, *.db.test.ts or *.services.test.ts`,
    );
  return tier;
}

const matches = (file: string, globs: string[]) => globs.some((g) => matchesGlob(file, g));

/** The projects whose include and exclude globs take `file`. */
export function projectsTaking(file: string): Project[] {
  return (Object.keys(PROJECT_FILES) as Project[]).filter(
    (p) => matches(file, PROJECT_FILES[p].include) && !matches(file, PROJECT_FILES[p].exclude),
  );
}

/**
 * Every test file under `root`/test, each checked: its name and its source agree (tierOf), and the
 * projects' globs take it exactly where its tier says (so no file is skipped, or run twice).
 * vitest.config.ts calls it at load, so a misnamed file stops every run with the reason.
 */
export function checkTiers(root: string): Map<string, Tier> {
  const tiers = new Map<string, Tier>();
  const errors: string[] = [];
  for (const file of globSync('test/**/*.test.ts', { cwd: root }).map((f) => f.split('\\').join('/'))) {
    try {
      const tier = tierOf(file, readFileSync(join(root, file), 'utf8'));
      const want = PROJECTS_OF[tier];
      const got = projectsTaking(file);
      if (got.join() !== want.join())
        throw new Error(
          `${file}: tier ${tier} belongs in ${want.join(' and ')}, the globs put it in ${got.join(' and ') || 'none'}`,
        );
      tiers.set(file, tier);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new Error(`test tiers (vitest.tiers.ts):\n  ${errors.join('\n  ')}`);
  return tiers;
}
