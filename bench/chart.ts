import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable, targetsTable, type BenchResults } from './lib/report.js';

/**
 * `npx tsx bench/chart.ts` (also run by `npm run bench` after a full run):
 * bench/results/latest.json (+ latest-embedded.json) → docs/performance.svg, and
 * the generated block of docs/performance.md between its bench markers.
 */
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** Where each scenario's target sits, as a share of the pgbench limit and as a p99. */
const RATIO_TARGET: Record<string, number> = { create: 0.5, get: 0.25, list: 0.25 };
const P99_TARGET: Record<string, number> = { create: 50, get: 10 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n0 = (n: number) => Math.round(n).toLocaleString('en-US');

export function renderSvg(pg: BenchResults | null, embedded: BenchResults | null): string {
  const W = 960;
  const rowH = 34;
  const parts: string[] = [];
  let y = 0;
  const text = (x: number, yy: number, s: string, attrs = '') =>
    parts.push(`<text x="${x}" y="${yy}" ${attrs}>${esc(s)}</text>`);

  // Columns: label | share-of-limit bar (or req/s bar) | p99 bar.
  const labelW = 190;
  const barX = labelW + 10;
  const barW = 400;
  const p99X = barX + barW + 60;
  const p99W = W - p99X - 30;

  const section = (r: BenchResults, title: string, useRatio: boolean) => {
    y += 30;
    text(10, y, title, 'font-size="16" font-weight="bold"');
    y += 22;
    text(
      barX,
      y,
      useRatio
        ? 'throughput: share of the pgbench limit of the same SQL (same run)'
        : 'throughput, requests/s (no pgbench limit for PGlite)',
      'font-size="12" fill="#444"',
    );
    text(p99X, y, 'p99 latency, ms', 'font-size="12" fill="#444"');
    y += 10;
    const rows = r.scenarios;
    const maxRps = Math.max(1, ...rows.map((s) => (s.valid ? s.load.rps : 0)));
    const maxP99 =
      Math.max(50, ...rows.map((s) => (Number.isFinite(s.load.latencyMs.p99) ? s.load.latencyMs.p99 : 0))) * 1.15;
    for (const s of rows) {
      const top = y + 6;
      const mid = top + rowH / 2 - 4;
      text(10, mid + 4, s.name, 'font-size="13"');
      parts.push(`<rect x="${barX}" y="${top}" width="${barW}" height="${rowH - 12}" fill="#f1f3f5"/>`);
      if (!s.valid) {
        text(barX + 8, mid + 4, `INVALID: ${(s.invalidReason ?? '').slice(0, 60)}`, 'font-size="12" fill="#c92a2a"');
      } else if (useRatio && s.ratio !== null) {
        const w = Math.min(1, s.ratio) * barW;
        parts.push(`<rect x="${barX}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 12}" fill="#1c7ed6"/>`);
        const target = RATIO_TARGET[s.name];
        if (target !== undefined)
          parts.push(
            `<line x1="${barX + target * barW}" x2="${barX + target * barW}" y1="${top - 3}" y2="${top + rowH - 9}" stroke="#e8590c" stroke-width="2"/>`,
          );
        text(
          barX + w + 6 > barX + barW - 150 ? barX + 6 : barX + w + 6,
          mid + 4,
          `${(s.ratio * 100).toFixed(1)}%  (${n0(s.load.rps)} of ${n0(s.limit?.tps ?? 0)}/s)`,
          `font-size="12" fill="${barX + w + 6 > barX + barW - 150 ? '#fff' : '#212529'}"`,
        );
      } else {
        const w = (s.load.rps / maxRps) * barW;
        parts.push(`<rect x="${barX}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 12}" fill="#868e96"/>`);
        text(
          barX + 6,
          mid + 4,
          `${n0(s.load.rps)} req/s${useRatio ? ' (no limit script)' : ''}`,
          `font-size="12" fill="${w > 160 ? '#fff' : '#212529'}"`,
        );
      }
      const p99 = s.load.latencyMs.p99;
      parts.push(`<rect x="${p99X}" y="${top}" width="${p99W}" height="${rowH - 12}" fill="#f1f3f5"/>`);
      if (Number.isFinite(p99)) {
        const w = (p99 / maxP99) * p99W;
        const target = useRatio ? P99_TARGET[s.name] : undefined; // the embedded mode has no target yet
        const over = target !== undefined && p99 >= target;
        parts.push(
          `<rect x="${p99X}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 12}" fill="${over ? '#e03131' : '#37b24d'}"/>`,
        );
        if (target !== undefined)
          parts.push(
            `<line x1="${p99X + (target / maxP99) * p99W}" x2="${p99X + (target / maxP99) * p99W}" y1="${top - 3}" y2="${top + rowH - 9}" stroke="#e8590c" stroke-width="2"/>`,
          );
        text(p99X + w + 4 > W - 70 ? p99X + 4 : p99X + w + 4, mid + 4, `${p99.toFixed(1)}`, 'font-size="12"');
      }
      y += rowH;
    }
    y += 6;
    const m = r.machine;
    text(
      10,
      y + 8,
      `${r.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${String(m.nproc)} cores (${String(m.cpu)}) · ${String(m.memoryGb)} GB · Node ${String(m.node)}${m.postgres ? ` · PostgreSQL ${String(m.postgres).split(' ')[0]}` : ''}`,
      'font-size="11" fill="#666"',
    );
    text(
      10,
      y + 22,
      `${r.options.connections as number} connections, ${r.options.warmup as number} s warm-up + ${r.options.duration as number} s per run${useRatio ? ' · orange ticks: the targets (docs/performance.md)' : ' · no target yet'}`,
      'font-size="11" fill="#666"',
    );
    y += 30;
  };

  if (pg) section(pg, 'Order API on PostgreSQL: the service next to the physical limit of its own SQL', true);
  if (embedded) section(embedded, 'Embedded (PGlite inside the service process)', false);
  if (!pg && !embedded) text(10, 30, 'no results yet: run npm run bench');
  const H = Math.max(60, y + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">\n<rect width="${W}" height="${H}" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

function block(pg: BenchResults | null, embedded: BenchResults | null): string {
  const out: string[] = [];
  for (const [r, title] of [
    [pg, "On the machine's PostgreSQL"],
    [embedded, 'Embedded (PGlite), no target yet'],
  ] as const) {
    if (!r) continue;
    const m = r.machine;
    out.push(
      `### ${title}`,
      '',
      `Run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC: ${String(m.nproc)} cores (${String(m.cpu)}), ${String(m.memoryGb)} GB, Node ${String(m.node)}` +
        `${m.postgres ? `, PostgreSQL ${String(m.postgres)}` : ''}; ${r.options.connections as number} connections, ${r.options.warmup as number} s warm-up + ` +
        `${r.options.duration as number} s per run; service pool ${r.service.poolSize}; load average at the end ${JSON.stringify(m.loadavgAtEnd)}.`,
      '',
      markdownTable(r),
      '',
      targetsTable(r),
      '',
    );
    if (r.notes.length) out.push(...r.notes.map((n) => `- ${n}`), '');
  }
  if (!out.length) out.push('No results yet: run `npm run bench`.', '');
  return out.join('\n');
}

export function writeDocs(root: string): void {
  const read = (f: string): BenchResults | null => {
    const p = join(root, 'bench', 'results', f);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as BenchResults) : null;
  };
  const pg = read('latest.json');
  const embedded = read('latest-embedded.json');
  writeFileSync(join(root, 'docs', 'performance.svg'), renderSvg(pg, embedded));
  const docPath = join(root, 'docs', 'performance.md');
  const doc = readFileSync(docPath, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${docPath} lacks the ${START} … ${END} markers`);
  writeFileSync(docPath, `${doc.slice(0, a + START.length)}\n${block(pg, embedded)}${doc.slice(b)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  writeDocs(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
  console.log('docs/performance.svg and docs/performance.md regenerated from bench/results/latest*.json');
}
