import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSoak } from '../../soak/run.js';

/**
 * The short soak (`npm run soak` is the long one): a minute of mixed shop traffic through nginx over
 * two instances, on a pg_auto_failover pair and a RabbitMQ node and Redis of its own, under one fault
 * of each family on a fixed seed — an instance SIGKILLed, the database primary SIGKILLed, the broker
 * stopped, the relay killed mid-batch, Stripe losing its answers, a rolling deploy that switches the
 * capture mode. Then the independent audit: every line must count zero. Here, not in the services
 * tier, because it loads the machine for minutes; it disturbs no shared service.
 */
describe('soak: mixed traffic under faults, then the independent audit', () => {
  const out = mkdtempSync(join(tmpdir(), 'soak-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('loses nothing, doubles nothing, and leaves nothing stuck', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      durationMs: 60_000,
      seed: 7,
      instances: 2,
      workers: 6,
      faults: 'short',
      outDir: out,
      log: (l) => lines.push(l),
    });
    console.info(lines.join('\n'));
    const created = report.requests
      .filter((r) => r.kind === 'create' && r.outcome === '201')
      .reduce((s, r) => s + r.count, 0);
    expect(created, 'the soak placed orders').toBeGreaterThan(20);
    expect(report.faults.map((f) => f.detail).filter((d) => d.startsWith('FAILED'))).toEqual([]);
    expect(report.audit.filter((a) => a.count > 0)).toEqual([]);
  }, 900_000);
});
