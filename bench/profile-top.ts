import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/profile-top.ts [<file.cpuprofile>] [--top N] [--results <run.json> --scenario <name>]`:
 * the functions with the most self time in a `node --cpu-prof` profile (as
 * `npm run bench -- --profile` writes them), and that time summed per package.
 * With --results/--scenario only the samples inside that scenario's measured
 * run count (the profile and the bench share CLOCK_MONOTONIC), so start-up,
 * seeding and the other scenarios do not blur it; the profile file is then
 * taken from the results when not given.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const top = Number(flag('--top') ?? 30) || 30;
const resultsFile = flag('--results');
const scenario = flag('--scenario');
const results = resultsFile
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as {
      profiles?: string[];
      scenarios: { name: string; window?: { fromUs: number; toUs: number } }[];
    })
  : null;
const window = results && scenario ? results.scenarios.find((s) => s.name === scenario)?.window : undefined;
if (results && scenario && !window) throw new Error(`no window for scenario ${scenario} in ${resultsFile}`);
const load = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Profile;
// Given no file, the run's profile (the service restarts in embedded mode: the one around the window).
const [file, p] = ((): [string, Profile] => {
  if (args[0] && !args[0].startsWith('--')) return [args[0], load(args[0])];
  for (const f of results?.profiles ?? []) {
    const prof = load(f);
    if (!window || (prof.startTime <= window.fromUs && prof.endTime >= window.toUs)) return [f, prof];
  }
  console.error(
    'usage: npx tsx bench/profile-top.ts [<file.cpuprofile>] [--top N] [--results <run.json> --scenario <name>]',
  );
  process.exit(2);
})();
const from = window?.fromUs ?? -Infinity;
const to = window?.toUs ?? Infinity;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
let t = p.startTime;
p.samples.forEach((id, i) => {
  t += p.timeDeltas[i] ?? 0;
  if (t >= from && t <= to) selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs.entries()]
  .filter(([id]) => ['(idle)', '(program)', '(garbage collector)'].includes(byId.get(id)?.callFrame.functionName ?? ''))
  .reduce((a, [id, t]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? a + t : a), 0);
const busy = total - idle;

/** Where a frame comes from: a package, Node's internals, the app, or V8 itself. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  if (url.startsWith('node:'))
    return url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  const src = /\/(src|bench|test)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

const fns = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, t] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  if (functionName === '(idle)') continue;
  const where = area(url, functionName);
  const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
  const a = where.startsWith('src/') ? 'src (the app)' : where;
  areas.set(a, (areas.get(a) ?? 0) + t);
}

const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
const share = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
const span = Number.isFinite(from) ? (to - from) / 1e6 : (p.endTime - p.startTime) / 1e6;
console.log(
  `${file}${scenario ? ` (scenario ${scenario} only)` : ''}\nwall ${span.toFixed(1)} s, busy (not idle) ${(busy / 1e6).toFixed(1)} s; shares below are of busy time\n`,
);
console.log(`top ${top} functions by self time:`);
for (const [k, t] of [...fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${ms(t)} ms ${share(t)}  ${k}`);
console.log('\nself time by package / area:');
for (const [k, t] of [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${ms(t)} ms ${share(t)}  ${k}`);
