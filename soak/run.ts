import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAudit } from './audit/index.js';
import { line } from './audit/line.js';
import { declareAuditQueue, settleHorizonMs } from './audit/sources.js';
import { healAndDrain } from './drain.js';
import { planFaults, runFaults, SHORT_FAULTS } from './faults/schedule.js';
import { Random } from './random.js';
import { startRig } from './rig/index.js';
import { renderChart } from './report/chart.js';
import {
  longestWriteOutage,
  percentiles,
  printReport,
  requestTable,
  timeline,
  type SoakReport,
} from './report/summary.js';
import { startAdyenNotifier } from './traffic/adyen-notifier.js';
import { ShopClient } from './traffic/client.js';
import type { Shop } from './traffic/shop.js';
import { runWorkers } from './traffic/workers.js';

export interface SoakOptions {
  durationMs: number;
  seed: number;
  instances: number;
  /** Concurrent customers and agents. */
  workers: number;
  /** Every fault, the short soak's subset (npm test), or these by name. */
  faults: 'all' | 'short' | string[];
  /** Where acks.jsonl, report.json and chart.svg go. */
  outDir: string;
  log: (line: string) => void;
}

const AUDIT_QUEUE = 'soak-audit';

const PRODUCTS = [
  { id: 'soak-tee', price: 1999, stock: 100_000 },
  { id: 'soak-mug', price: 1250, stock: 100_000 },
  { id: 'soak-cap', price: 1500, stock: 100_000 },
  { id: 'soak-sock', price: 499, stock: 100_000 },
  { id: 'soak-hoodie', price: 4900, stock: 100_000 },
  // Scarce: some creates meet 409 out_of_stock, and cancels and returns put units back in play.
  { id: 'soak-limited', price: 9900, stock: 150 },
];

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  mkdirSync(o.outDir, { recursive: true });
  const ackLog = join(o.outDir, 'acks.jsonl');
  writeFileSync(ackLog, '');
  const rnd = new Random(o.seed);
  const only = o.faults === 'short' ? SHORT_FAULTS : o.faults === 'all' ? undefined : o.faults;
  const plan = planFaults(rnd.fork(1), o.durationMs, only);
  o.log(
    `fault schedule (seed ${o.seed}):\n${plan.map((p) => `  at ${(p.at / 1000).toFixed(1)} s: ${p.fault.name}`).join('\n')}`,
  );

  o.log('starting: PostgreSQL formation, RabbitMQ, Redis, emulators, email sink, instances behind nginx, relay …');
  const rig = await startRig({ instances: o.instances });
  try {
    await declareAuditQueue(rig.rabbit.url, AUDIT_QUEUE);
    const t0 = performance.now();
    const client = new ShopClient(rig.cluster.url, rig.jwtSecret, ackLog, t0);
    for (const p of PRODUCTS) {
      const res = await client.call('setup', 'admin', 'PUT', `/api/products/${p.id}`, {
        body: { name: p.id, price: p.price, currency: 'USD', active: true, stock: p.stock },
      });
      if (res.status !== 200) throw new Error(`product ${p.id}: ${res.status} ${JSON.stringify(res.body)}`);
      client.ack({ type: 'product', id: p.id, stock: p.stock });
    }
    const shop: Shop = {
      client,
      emulators: rig.emulators,
      products: PRODUCTS.map(({ id, price }) => ({ id, price })),
      users: Array.from({ length: 24 }, (_, i) => `soak-customer-${i}`),
      orders: new Map(),
      captureMode: 'immediate',
      background: new Set(),
      running: true,
    };
    const adyenNotifier = startAdyenNotifier(shop);
    o.log(`traffic: ${o.workers} workers for ${Math.round(o.durationMs / 1000)} s through ${rig.cluster.url}`);
    const faultCtx = { rig, shop, pick: (n: number) => Math.floor(rnd.next() * n) };
    // Traffic runs for the duration, and on while faults are still healing (a loaded machine restarts
    // slowly) until a quiet tail after the last one: every fault's aftermath is under traffic.
    let quietFrom = Infinity;
    const more = () => client.now() < Math.max(o.durationMs, quietFrom);
    const [, faults] = await Promise.all([
      runWorkers(shop, rnd.fork(2), o.workers, more),
      runFaults(
        plan,
        faultCtx,
        () => client.now(),
        (e) => o.log(`fault ${(e.start / 1000).toFixed(1)}–${(e.end / 1000).toFixed(1)} s: ${e.name}: ${e.detail}`),
      ).finally(() => (quietFrom = client.now() + Math.min(30_000, o.durationMs * 0.15))),
    ]);
    const trafficEnd = client.now();
    shop.running = false;
    o.log('traffic stopped; healing and draining …');
    // Until nothing is open, or everything open is past its deadline under the instances' settings
    // (the audit then calls it stuck): a little longer than the longest any open item may take.
    const drainMs = await healAndDrain(rig, shop, settleHorizonMs(rig.deadlines) + 15_000);
    await adyenNotifier.stop();
    const audit = await runAudit({
      databaseUrls: rig.ha.nodes.map((n) => n.url),
      providers: {
        stripe: rig.emulators.stripe.url,
        square: rig.emulators.square.url,
        paypal: rig.emulators.paypal.url,
        adyen: rig.emulators.adyen.url,
        mollie: rig.emulators.mollie.url,
      },
      amqpUrl: rig.rabbit.url,
      queue: AUDIT_QUEUE,
      emailRecordsUrl: rig.email.recordsUrl,
      ackLog,
      deadlines: rig.deadlines,
    });
    const records = client.records.filter((r) => r.kind !== 'setup');
    // A 500 is a bug by the contract (internal_error), whatever else held.
    audit.push(
      line(
        'answers 500 (internal_error) or a traffic kind that failed',
        records
          .filter((r) => r.status === 500 || r.status === 'soak error')
          .map((r) => `${r.kind} at ${(r.at / 1000).toFixed(1)} s: ${r.status} ${r.code ?? ''}`),
      ),
    );
    const report: SoakReport = {
      seed: o.seed,
      durationMs: trafficEnd,
      instances: o.instances,
      startedAt: new Date(Date.now() - trafficEnd - drainMs).toISOString(),
      requests: requestTable(records),
      latencyMs: percentiles(records),
      faults: faults.map((f, i) => ({
        ...f,
        longestWriteOutageMs: longestWriteOutage(records, f, faults[i + 1]?.start ?? trafficEnd),
      })),
      timeline: timeline(records, trafficEnd, o.durationMs > 300_000 ? 5000 : 2000),
      drainMs,
      audit,
    };
    writeFileSync(join(o.outDir, 'report.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(o.outDir, 'chart.svg'), renderChart(report));
    o.log(printReport(report));
    if (audit.some((a) => a.count > 0) || faults.some((f) => f.detail.startsWith('FAILED')))
      o.log(`\ninstances and services said (last lines):\n${rig.output().slice(-6000)}`);
    return report;
  } finally {
    await rig.close();
  }
}
