import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The import and SQL rules of eslint.config.js (docs/adr/0001, "Layout") on small snippets placed,
 * in memory, at the path that decides which rules apply. Each forbidden case names the rule that
 * must report it; each allowed case must pass both rules.
 */
const eslint = new ESLint({ cwd: `${import.meta.dirname}/../..` });
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath });
  return result!.messages.filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => m.ruleId!);
}

const FORBIDDEN: [string, string, string][] = [
  ['src/domain/x.ts', "import type { Deps } from '../application/deps.js';", 'no-restricted-imports'],
  ['src/domain/x.ts', "import { loadConfig } from '../config.js';", 'no-restricted-imports'],
  ['src/domain/x.ts', "import type { Logger } from '../observability/logger.js';", 'no-restricted-imports'],
  ['src/application/x.ts', "import { createMetrics } from '../http/plugins/metrics.js';", 'no-restricted-imports'],
  ['src/application/x.ts', "import { createOutboxRelay } from '../workers/outbox-relay.js';", 'no-restricted-imports'],
  ['src/application/x.ts', "import { buildApp } from '../app.js';", 'no-restricted-imports'],
  ['src/application/x.ts', "import { sql } from 'kysely';", 'no-restricted-imports'],
  ['src/application/x.ts', "import { type Kysely, sql as raw } from 'kysely';", 'no-restricted-imports'],
  [
    'src/application/x.ts',
    "export const f = (db: any) => db.selectFrom('orders').selectAll().execute();",
    'no-restricted-syntax',
  ],
  [
    'src/application/x.ts',
    "export const f = (trx: any) => trx.updateTable('orders').set({ status: 'paid' }).execute();",
    'no-restricted-syntax',
  ],
  ['src/workers/x.ts', "import { sql } from 'kysely';", 'no-restricted-imports'],
  ['src/workers/x.ts', "export const f = (db: any) => db.deleteFrom('outbox').execute();", 'no-restricted-syntax'],
  ['src/workers/x.ts', "import outboxAdminRoutes from '../http/routes/admin/outbox.js';", 'no-restricted-imports'],
  ['src/http/routes/ops/x.ts', "import { sql } from 'kysely';", 'no-restricted-imports'],
  [
    'src/http/routes/admin/x.ts',
    "import { claimDue } from '../../../persistence/outbox-queue.js';",
    'no-restricted-imports',
  ],
  [
    'src/http/routes/admin/x.ts',
    "import { createOutboxRelay } from '../../../workers/outbox-relay.js';",
    'no-restricted-imports',
  ],
  ['src/events/x.ts', "import { backoff } from '../workers/backoff.js';", 'no-restricted-imports'],
  ['src/notifications/x.ts', "import { backoff } from '../workers/backoff.js';", 'no-restricted-imports'],
  ['src/notifications/templates/x.ts', "import { backoff } from '../../workers/backoff.js';", 'no-restricted-imports'],
  [
    'src/payments/webhooks/x.ts',
    "import { findOrder } from '../../persistence/order-repository.js';",
    'no-restricted-imports',
  ],
  ['src/persistence/x.ts', "import type { Deps } from '../application/deps.js';", 'no-restricted-imports'],
  ['src/observability/x.ts', "import type { Config } from '../config.js';", 'no-restricted-imports'],
  ['src/server.ts', "import { sql } from 'kysely';", 'no-restricted-imports'],
  ['soak/audit/x.ts', "import { loadConfig } from '../../src/config.js';", 'no-restricted-imports'],
  [
    'soak/audit/x.ts',
    "import type { StripeEmulator } from '../../test/emulators/stripe-emulator.js';",
    'no-restricted-imports',
  ],
  ['soak/audit/x.ts', "import type { Shop } from '../traffic/shop.js';", 'no-restricted-imports'],
  ['soak/audit/x.ts', "import { Random } from '../random.js';", 'no-restricted-imports'],
];

const ALLOWED: [string, string][] = [
  ['src/domain/x.ts', "import { DomainError } from './errors.js';"],
  ['src/domain/x.ts', "import { randomUUID } from 'node:crypto';"],
  [
    'src/application/x.ts',
    "import type { Kysely } from 'kysely';\nimport { findOrder } from '../persistence/order-repository.js';\nimport { errors } from '../domain/errors.js';",
  ],
  ['src/application/x.ts', "import type { Metrics } from '../observability/metrics.js';"],
  ['src/application/x.ts', 'export const f = (db: any) => db.transaction().execute(async () => 1);'],
  [
    'src/persistence/x.ts',
    "import { sql } from 'kysely';\nexport const f = (db: any) => db.selectFrom('orders').select(sql`1`.as('one')).execute();",
  ],
  ['src/persistence/x.ts', "import type { Order } from '../domain/order.js';"],
  [
    'src/workers/x.ts',
    "import { claimDue } from '../persistence/outbox-queue.js';\nimport { reconcilePayments } from '../application/reconcile-payments.js';",
  ],
  [
    'src/http/routes/admin/x.ts',
    "import { listOutbox } from '../../../application/list-outbox.js';\nimport { Cursor } from '../../schemas/common.js';",
  ],
  ['src/events/x.ts', "import type { Logger } from '../observability/logger.js';"],
  [
    'src/app.ts',
    "import { registerOutboxMetrics } from './workers/outbox-metrics.js';\nimport { createDb } from './persistence/db.js';",
  ],
  ['test/x.test.ts', "import { sql } from 'kysely';\nexport const f = (db: any) => db.selectFrom('orders').execute();"],
  ['scripts/x.ts', "import { sql } from 'kysely';"],
  ['soak/audit/x.ts', "import pg from 'pg';\nimport { line } from './line.js';"],
];

describe('the layout rules of docs/adr/0001, as the linter keeps them', () => {
  it.each(FORBIDDEN)('%s: %s is refused', async (filePath, code, rule) => {
    expect(await boundaryErrors(filePath, code)).toContain(rule);
  });

  it.each(ALLOWED)('%s: %s is allowed', async (filePath, code) => {
    expect(await boundaryErrors(filePath, code)).toEqual([]);
  });

  it('the tree keeps them: no file under src/ breaks a boundary rule', async () => {
    const tree = new ESLint({
      cwd: `${import.meta.dirname}/../..`,
      ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
    });
    const results = await tree.lintFiles(['src/**/*.ts']);
    const broken = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(broken).toEqual([]);
  });
});
