import type { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingsOf } from '../../src/application/search-orders.js';
import { MAX_PAGE_ROWS } from '../../src/persistence/order-repository.js';
import { searchOrders, type OrderSearch } from '../../src/persistence/order-search.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * Every filter of support's search reads about a page of index entries, on the first page and
 * 50k rows deep alike: EXPLAIN ANALYZE of the service's own statements on 100k seeded orders.
 * (The bench's admin-search scenario measures the same at 1M.)
 */
const N = 100_000;
const T0 = '2030-01-01T00:00:00.000Z';
const at = (g: number) => new Date(Date.parse(T0) - g).toISOString();
const idOf = (g: number) => {
  const h = g.toString(16).padStart(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

describe('admin search plans on postgres', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('postgres');
    const q = (text: string) =>
      t.db.executeQuery({ sql: text, parameters: [], query: { kind: 'RawNode' } } as unknown as CompiledQuery);
    // Order g: created T0 − g ms; every other order is the busy customer's; statuses in turn; ids g (so 8-hex prefixes exist).
    await q(`insert into payment_transactions (id, order_id, customer_id, provider, status, amount, currency, source, order_draft)
      select lpad(to_hex((1::bigint << 40) | g), 32, '0')::uuid, lpad(to_hex(g), 32, '0')::uuid, 'u', 'sandbox', 'succeeded', 100, 'USD', 'pm', '{}'
      from generate_series(1, ${N}) g`);
    await q(`insert into orders (id, user_id, status, currency, total, email, transaction_id, created_at, updated_at)
      select lpad(to_hex(g), 32, '0')::uuid,
             case when g % 2 = 0 then 'busy' else 'user' || (g % 5000) end,
             (array['pending','processing','shipped','delivered','cancelled'])[1 + g % 5], 'USD', 100,
             case when g % 2 = 0 then 'Busy@Example.com' else 'user' || (g % 5000) || '@example.com' end,
             lpad(to_hex((1::bigint << 40) | g), 32, '0')::uuid,
             '${T0}'::timestamptz - g * interval '1 millisecond', now()
      from generate_series(1, ${N}) g`);
    await q('analyze orders, payment_transactions');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  /** The statement the service would run for `s`, and EXPLAIN ANALYZE of it. */
  async function plan(s: OrderSearch): Promise<PlanNode> {
    let captured: CompiledQuery | undefined;
    const capture = { executeQuery: async (c: CompiledQuery) => ((captured = c), { rows: [] }) };
    await searchOrders(capture as never, s);
    if (!captured) throw new Error('no statement');
    const res = await t.db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
      ...captured,
      sql: `explain (analyze, format json) ${captured.sql}`,
    });
    return res.rows[0]!['QUERY PLAN'][0].Plan;
  }
  const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)];

  const shapes: Record<string, Omit<OrderSearch, 'after' | 'limit'>> = {
    'no filter': { all: [], any: [] },
    status: { all: [{ kind: 'status', value: 'shipped' }], any: [] },
    email: { all: [{ kind: 'email', value: 'busy@example.com' }], any: [] },
    user_id: { all: [{ kind: 'user', value: 'busy' }], any: [] },
    'status + user_id': {
      all: [
        { kind: 'status', value: 'pending' },
        { kind: 'user', value: 'busy' },
      ],
      any: [],
    },
    'created_from/to': { all: [], any: [], from: at(90_000), to: at(10_000) },
    'q = email': { all: [], any: readingsOf('BUSY@example.com') },
    'q = user id': { all: [], any: readingsOf('busy') },
    'q = 8-hex prefix': { all: [], any: readingsOf(idOf(70_000).slice(0, 8)) },
    'q = order id': { all: [], any: readingsOf(idOf(70_000)) },
  };

  it.each(Object.keys(shapes))(
    '%s: an index scan of about a page, first and 50k deep',
    async (name) => {
      const reads: number[] = [];
      for (const after of [null, { created_at: at(50_000), id: idOf(50_000) }]) {
        const p = await plan({ ...shapes[name]!, after, limit: 21 });
        const scans = nodes(p).filter((n) => n['Relation Name'] === 'orders');
        expect(scans.length).toBeGreaterThan(0);
        let read = 0;
        for (const s of scans) {
          expect(s['Node Type'], `${name}: ${JSON.stringify(p).slice(0, 400)}`).toMatch(/Index|Bitmap/);
          read += s['Actual Rows'] * s['Actual Loops'] + (s['Rows Removed by Filter'] ?? 0);
        }
        // Each reading of the filter reads at most one page cut (MAX_PAGE_ROWS), then the page's rows by id.
        // Two filters together: the planner may scan one's index and filter by the other, reading more
        // rows the less often both hold, but no more deep than first.
        const readings = Math.max(1, shapes[name]!.any.length) * (shapes[name]!.all.length > 1 ? 5 : 1);
        expect(read, `${name}, ${after ? 'deep' : 'first'} page: rows read`).toBeLessThanOrEqual(
          readings * MAX_PAGE_ROWS + 21 + 30,
        );
        reads.push(read);
      }
      if (shapes[name]!.all.length <= 1)
        expect(reads[1]!, `${name}: rows read deep vs first`).toBeLessThanOrEqual(reads[0]! * 1.5 + 30);
    },
    30_000,
  );
});
