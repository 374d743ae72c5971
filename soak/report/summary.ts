import type { AuditLine } from '../audit/index.js';
import type { FaultEvent } from '../faults/schedule.js';
import type { RequestRecord } from '../traffic/client.js';

/** What a run reports, and what its JSON file holds. */
export interface SoakReport {
  seed: number;
  durationMs: number;
  instances: number;
  startedAt: string;
  requests: { kind: string; outcome: string; count: number }[];
  latencyMs: { p50: number; p99: number; count: number };
  faults: (FaultEvent & { longestWriteOutageMs: number })[];
  /** Per bucket of `bucketMs`: answered 2xx, answered 4xx, failed (5xx, timeout, no connection). */
  timeline: { bucketMs: number; ok: number[]; refused: number[]; failed: number[] };
  drainMs: number;
  audit: AuditLine[];
}

const outcome = (r: RequestRecord) =>
  typeof r.status === 'number' ? `${r.status}${r.code && r.status >= 400 ? ` ${r.code}` : ''}` : r.status;
const failed = (r: RequestRecord) => typeof r.status !== 'number' || r.status >= 500;

export function requestTable(records: RequestRecord[]): SoakReport['requests'] {
  const counts = new Map<string, { kind: string; outcome: string; count: number }>();
  for (const r of records) {
    const o = outcome(r);
    const key = `${r.kind}\u0000${o}`;
    const row = counts.get(key) ?? { kind: r.kind, outcome: o, count: 0 };
    row.count++;
    counts.set(key, row);
  }
  return [...counts.values()].sort((a, b) => a.kind.localeCompare(b.kind) || b.count - a.count);
}

export function percentiles(records: RequestRecord[]): SoakReport['latencyMs'] {
  const ms = records.map((r) => r.ms).sort((a, b) => a - b);
  const at = (p: number) => (ms.length ? Math.round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!) : 0);
  return { p50: at(0.5), p99: at(0.99), count: ms.length };
}

/**
 * The longest stretch without a successful write (a 2xx), from the fault's start until
 * 60 s after its end, the next fault's start or the end of traffic, whichever comes first: how long
 * the shop could not write, from its own timings.
 */
export function longestWriteOutage(records: RequestRecord[], fault: FaultEvent, until: number): number {
  const from = fault.start;
  const to = Math.min(fault.end + 60_000, until);
  const done = records
    .filter((r) => r.write && typeof r.status === 'number' && r.status < 300)
    .map((r) => r.at + r.ms)
    .filter((t) => t > from && t < to)
    .sort((a, b) => a - b);
  let longest = 0;
  let last = from;
  for (const t of [...done, to]) {
    longest = Math.max(longest, t - last);
    last = t;
  }
  return Math.round(longest);
}

export function timeline(records: RequestRecord[], durationMs: number, bucketMs: number): SoakReport['timeline'] {
  const n = Math.ceil(durationMs / bucketMs) + 1;
  const t = {
    bucketMs,
    ok: Array<number>(n).fill(0),
    refused: Array<number>(n).fill(0),
    failed: Array<number>(n).fill(0),
  };
  for (const r of records) {
    const i = Math.min(n - 1, Math.floor((r.at + r.ms) / bucketMs));
    if (failed(r)) t.failed[i]!++;
    else if ((r.status as number) >= 400) t.refused[i]!++;
    else t.ok[i]!++;
  }
  return t;
}

export function printReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(
    `soak: seed ${r.seed}, ${Math.round(r.durationMs / 1000)} s of traffic, ${r.instances} instances, started ${r.startedAt}`,
  );
  out.push('', 'requests by kind and outcome:');
  for (const row of r.requests)
    out.push(`  ${row.kind.padEnd(22)} ${row.outcome.padEnd(40)} ${String(row.count).padStart(7)}`);
  out.push(
    '',
    `latency over all requests: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms (${r.latencyMs.count} requests)`,
  );
  out.push('', 'faults (seconds from the start of traffic):');
  for (const f of r.faults)
    out.push(
      `  ${(f.start / 1000).toFixed(1).padStart(6)}–${(f.end / 1000).toFixed(1).padEnd(6)} ${f.name}: ${f.detail}; longest write outage ${(f.longestWriteOutageMs / 1000).toFixed(1)} s`,
    );
  out.push('', `drain: ${(r.drainMs / 1000).toFixed(1)} s`, '', 'audit (every count must be 0):');
  for (const a of r.audit) {
    out.push(`  ${String(a.count).padStart(5)}  ${a.name}`);
    for (const e of a.examples) out.push(`           e.g. ${e}`);
  }
  return out.join('\n');
}
