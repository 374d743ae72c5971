import { globSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTiers, projectsTaking, tierOf } from '../../vitest.tiers.js';

/** The tier rules of vitest.tiers.ts, each shown to bite; vitest.config.ts runs the same check at load. */
const root = `${import.meta.dirname}/../..`;

describe('test tiers', () => {
  it('every test file is in exactly the projects its name says', () => {
    const tiers = checkTiers(root);
    expect([...tiers.keys()].sort()).toEqual(globSync('test/**/*.test.ts', { cwd: root }).sort());
    for (const [file, tier] of tiers)
      expect(projectsTaking(file), file).toEqual(
        {
          unit: ['unit'],
          pglite: ['pglite'],
          db: ['pglite', 'services'],
          services: ['services'],
          disruptive: ['disruptive'],
        }[tier],
      );
  });

  it.each([
    ['test/domain/money.test.ts', "import { add } from '../../src/domain/money.js';", 'unit'],
    ['test/payments/stripe.pglite.test.ts', "import { startEmulators } from '../emulators/index.js';", 'pglite'],
    ['test/persistence/ledger.db.test.ts', 'describe.each(DATABASES)(…)', 'db'],
    ['test/e2e/events.services.test.ts', "import { startService } from './support/service.js';", 'services'],
    ['test/disruptive/broker.test.ts', '', 'disruptive'],
  ])('%s is %s', (file, source, tier) => {
    expect(tierOf(file, source)).toBe(tier);
  });

  it.each([
    ['an unknown suffix', 'test/persistence/ledger.postgres.test.ts', '', /"postgres" is no tier/],
    [
      'both databases without the name',
      'test/persistence/ledger.test.ts',
      'describe.each(DATABASES)(…)',
      /\*\.db\.test\.ts/,
    ],
    ['the name without both databases', 'test/persistence/ledger.db.test.ts', "describe('x', …)", /runs twice/],
    [
      'a unit test that starts an app',
      'test/http/x.test.ts',
      "import { buildTestApp } from '../helpers/app.js';",
      /unit test does no I\/O/,
    ],
    [
      'a unit test that opens a database',
      'test/x.test.ts',
      "import { createDb } from '../src/persistence/db.js';",
      /unit test/,
    ],
    ['a tier suffix in test/disruptive/', 'test/disruptive/x.services.test.ts', '', /tier of its own/],
  ])('refuses %s', (_, file, source, message) => {
    expect(() => tierOf(file, source)).toThrow(message);
  });
});
