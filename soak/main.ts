import { parseArgs } from 'node:util';
import { runSoak } from './run.js';

/**
 * `npm run soak -- [--duration 600] [--seed 1] [--instances 2] [--workers 8] [--short | --faults 'a,b'] [--out soak-results]`:
 * mixed shop traffic against a private cluster under a seeded schedule of faults, then the
 * independent audit. `--faults` names the faults to run (as the schedule prints them), to exercise a
 * few on their own (commas inside a name's parentheses are part of it). Exits 1 when any audit line is above zero.
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    instances: { type: 'string', default: '2' },
    workers: { type: 'string', default: '8' },
    short: { type: 'boolean', default: false },
    faults: { type: 'string' },
    out: { type: 'string', default: 'soak-results' },
  },
});
const int = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
};

const report = await runSoak({
  durationMs: int('duration', values.duration, 10) * 1000,
  seed: int('seed', values.seed, 0),
  instances: int('instances', values.instances, 2),
  workers: int('workers', values.workers, 1),
  faults: values.faults ? values.faults.split(/,(?![^(]*\))/).map((s) => s.trim()) : values.short ? 'short' : 'all',
  outDir: values.out,
  log: (l) => console.log(l),
});
console.log(`\nreport: ${values.out}/report.json, ${values.out}/chart.svg`);
process.exit(report.audit.some((a) => a.count > 0) ? 1 : 0);
