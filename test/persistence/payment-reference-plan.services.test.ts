import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMovement } from '../../src/persistence/ledger.js';
import type { Database } from '../../src/persistence/tables.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * A refund is made against its payment's capture: the lookup of that reference (cancel, reconciler,
 * every movement read) reads the payment's own movements, not every capture of the ledger — also
 * before PostgreSQL has statistics on the table (a new ledger, until autovacuum analyzes it), when the
 * planner once ANDed the index of provider references in and read it whole.
 */
const N = 5_000;
const REFUND = '0196a000-0000-7000-8000-000000000001';
const payment = (g: string) => `lpad(to_hex((1::bigint << 40) | ${g}), 32, '0')::uuid`;
const order = (g: string) => `lpad(to_hex(${g}), 32, '0')::uuid`;

interface PlanNode {
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}
const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)];

describe('the payment reference of a movement on postgres', () => {
  let t: TestApp;
  const q = (text: string) =>
    t.db.executeQuery({ sql: text, parameters: [], query: { kind: 'RawNode' } } as unknown as CompiledQuery);
  beforeAll(async () => {
    t = await buildTestApp('postgres');
    await q('alter table payment_movements set (autovacuum_enabled = false)');
    // N paid orders; payment 1 captured at creation and then refunded (pending), the others captured later.
    await q(`insert into payment_transactions (id, order_id, customer_id, provider, status, amount, currency, charge_capture, source, order_draft, provider_reference)
      select ${payment('g')}, ${order('g')}, 'u', 'sandbox', 'succeeded', 100, 'USD', case when g = 1 then 100 end, 'pm', '{}', 'ch_' || g
      from generate_series(1, ${N}) g`);
    await q(`insert into orders (id, user_id, status, currency, total, email, transaction_id, created_at, updated_at)
      select ${order('g')}, 'u', 'pending', 'USD', 100, null, ${payment('g')}, now(), now() from generate_series(1, ${N}) g`);
    await q(`insert into payment_movements (id, transaction_id, order_id, kind, amount, currency, status, provider_reference, actor)
      select gen_random_uuid(), ${payment('g')}, ${order('g')}, 'capture', 100, 'USD', 'succeeded', 'cap_' || g, 'test'
      from generate_series(2, ${N}) g`);
    await q(`insert into payment_movements (id, transaction_id, order_id, kind, amount, currency, status, actor)
      values ('${REFUND}', ${payment('1')}, ${order('1')}, 'refund', 100, 'USD', 'pending', 'test')`);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  /** The service's statement for reading the refund, and EXPLAIN ANALYZE of it. */
  async function plan(): Promise<PlanNode> {
    let captured: CompiledQuery | undefined;
    const capture = new Kysely<Database>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
      log: (e) => void (captured = e.query),
    });
    await findMovement(capture, REFUND);
    if (!captured) throw new Error('no statement');
    const res = await t.db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
      ...captured,
      sql: `explain (analyze, buffers, format json) ${captured.sql}`,
    });
    return res.rows[0]!['QUERY PLAN'][0].Plan;
  }

  it('reads a few pages, without statistics and with them', async () => {
    const found = await findMovement(t.db, REFUND);
    expect(found).toMatchObject({ kind: 'refund', payment_reference: 'ch_1' });
    for (const stats of ['none', 'analyzed']) {
      if (stats === 'analyzed') await q('analyze payment_movements');
      const p = await plan();
      const indexes = nodes(p).map((n) => n['Index Name']);
      expect(indexes, `${stats}: ${JSON.stringify(p).slice(0, 600)}`).not.toContain('payment_ledger_provider_movement');
      // The movement by its key, its payment by its key, the payment's movements: a handful of pages,
      // where reading the index of references costs one page per ~80 captures of the whole ledger.
      expect(p['Shared Hit Blocks'] + p['Shared Read Blocks'], stats).toBeLessThan(20);
    }
  });
});
