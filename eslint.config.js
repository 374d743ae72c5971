import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The layout of docs/adr/0001, kept by the linter rather than by review:
 * - `domain` (and `observability`, the neutral home of Logger and Metrics) import nothing of ours
 *   outside themselves, but for observability's use of domain;
 * - `application` imports neither `http` nor `workers` (nor the composition root);
 * - `http` routes call use cases: no `persistence`, no `workers`;
 * - `payments`, `notifications`, `events` are called by workers and use cases, never the reverse;
 * - only `persistence` writes SQL: nobody else imports kysely's `sql` or calls the query builder.
 * Imports are matched on their relative specifier, so `(../)+name/` is the top-level folder `name`.
 * test/architecture/boundaries.test.ts proves that each rule bites.
 */
const SRC_ENTRIES = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((e) => e.name !== 'console' && (e.isDirectory() || e.name.endsWith('.ts')))
  .map((e) => e.name.replace(/\.ts$/, ''));
const ROOT = ['app', 'server'];
const ADR = 'docs/adr/0001-stack-and-layout.md';

const layerRule = (layer, forbidden) => ({
  regex: `^(\\.\\./)+(${forbidden.join('|')})(/|\\.js$)`,
  message: `src/${layer} may not import this (${ADR}, "Layout").`,
});
const onlyPersistenceWritesSql = {
  name: 'kysely',
  importNames: ['sql'],
  message: `Only src/persistence writes SQL (${ADR}): add a repository function there and call it.`,
};
const QUERY_BUILDER = 'selectFrom|selectNoFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto';
const noQueryBuilder = [
  'error',
  {
    selector: `CallExpression > MemberExpression.callee > Identifier.property[name=/^(${QUERY_BUILDER})$/]`,
    message: `Only src/persistence writes SQL (${ADR}): add a repository function there and call it.`,
  },
];

/** What each top-level folder of src/ may not import. */
const FORBIDDEN = {
  domain: SRC_ENTRIES.filter((e) => e !== 'domain'),
  observability: SRC_ENTRIES.filter((e) => e !== 'observability' && e !== 'domain'),
  application: ['http', 'workers', ...ROOT],
  persistence: ['application', 'http', 'workers', 'payments', 'notifications', 'events', ...ROOT],
  http: ['persistence', 'workers', 'server'],
  payments: ['application', 'http', 'workers', 'persistence', 'notifications', 'events', ...ROOT],
  notifications: ['application', 'http', 'workers', 'events', ...ROOT],
  events: ['application', 'http', 'workers', 'notifications', ...ROOT],
  workers: ['http', 'server'],
};

const restrict = (layer, { sql }) => [
  'error',
  {
    paths: sql ? [onlyPersistenceWritesSql] : [],
    patterns: layer ? [layerRule(layer, FORBIDDEN[layer])] : [],
  },
];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'bench/results', 'coverage', 'scratch'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/console/**', 'src/persistence/**'],
    rules: { 'no-restricted-imports': restrict(null, { sql: true }), 'no-restricted-syntax': noQueryBuilder },
  },
  ...Object.keys(FORBIDDEN).map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': restrict(layer, { sql: layer !== 'persistence' }) },
  })),
  {
    // The soak's audit must not share the service's model, nor what drove the run (docs/adr/0021).
    files: ['soak/audit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(src|test|deploy|bench)/|^\\.\\./(rig|traffic|faults|report)/|^\\.\\./[^/]+\\.js$',
              message:
                'The soak audit reads the database, the providers, the broker and the logs itself: it imports nothing of the service or the run (docs/adr/0021).',
            },
          ],
        },
      ],
    },
  },
);
