import { readFileSync, writeFileSync } from 'node:fs';

/**
 * `tsx scripts/trace-waterfall.ts spans.json out.svg`: one trace as a waterfall (a row per span,
 * indented under its parent, a bar from its start to its end), the way Jaeger or Tempo draws it.
 * The spans are those an OTLP receiver got (test/observability/order-trace.services.test.ts with TRACE_SNAPSHOT);
 * docs/operations.md shows the result. Fastify's per-hook spans are folded into their request to
 * keep the picture readable; everything else is drawn.
 */
interface Span {
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  start: string;
  end: string;
  attributes: Record<string, unknown>;
}

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: tsx scripts/trace-waterfall.ts spans.json out.svg');
  process.exit(2);
}

const all = JSON.parse(readFileSync(input, 'utf8')) as Span[];
const hidden = new Set(all.filter((s) => s.attributes['fastify.type'] === 'hook').map((s) => s.spanId));
const spans = all.filter((s) => !hidden.has(s.spanId));
const byId = new Map(spans.map((s) => [s.spanId, s]));
// A span whose parent was folded hangs under the nearest parent that is drawn.
const parentOf = (s: Span): string => {
  let p = s.parentSpanId;
  while (p && !byId.has(p)) p = all.find((x) => x.spanId === p)?.parentSpanId ?? '';
  return p;
};
const children = new Map<string, Span[]>();
for (const s of spans) children.set(parentOf(s), [...(children.get(parentOf(s)) ?? []), s]);
const ordered: { span: Span; depth: number }[] = [];
const walk = (id: string, depth: number): void => {
  for (const s of (children.get(id) ?? []).sort((a, b) => Number(BigInt(a.start) - BigInt(b.start)))) {
    ordered.push({ span: s, depth });
    walk(s.spanId, depth + 1);
  }
};
walk('', 0);

const t0 = spans.reduce((m, s) => (BigInt(s.start) < m ? BigInt(s.start) : m), BigInt(spans[0]!.start));
const t1 = spans.reduce((m, s) => (BigInt(s.end) > m ? BigInt(s.end) : m), 0n);
const ms = (ns: bigint): number => Number(ns) / 1e6;
const total = ms(t1 - t0);

const ROW = 22;
const LABEL = 430;
const WIDTH = 1200;
const BARS = WIDTH - LABEL - 90;
const TOP = 46;
const KIND_COLOR: Record<number, string> = { 1: '#8e9aaf', 2: '#3a86ff', 3: '#ff9f1c', 4: '#2ec4b6', 5: '#9b5de5' };
const KIND_NAME: Record<number, string> = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (s: Span): string => {
  const text = s.attributes['db.query.text'];
  const sql = typeof text === 'string' ? `  ${text.replace(/\s+/g, ' ').trim().slice(0, 38)}…` : '';
  return `${s.name}${sql}`;
};

const rows = ordered.map(({ span, depth }, i) => {
  const y = TOP + i * ROW;
  const x = LABEL + (ms(BigInt(span.start) - t0) / total) * BARS;
  const w = Math.max(1.5, (ms(BigInt(span.end) - BigInt(span.start)) / total) * BARS);
  const took = ms(BigInt(span.end) - BigInt(span.start));
  return [
    i % 2 ? '' : `<rect x="0" y="${y - 15}" width="${WIDTH}" height="${ROW}" fill="#f5f6f8"/>`,
    `<text x="${10 + depth * 14}" y="${y}" class="l">${esc(label(span))}</text>`,
    `<rect x="${x.toFixed(1)}" y="${y - 11}" width="${w.toFixed(1)}" height="13" rx="2" fill="${KIND_COLOR[span.kind] ?? '#999'}"/>`,
    `<text x="${(x + w + 4).toFixed(1)}" y="${y}" class="d">${took < 1 ? took.toFixed(2) : took.toFixed(1)} ms</text>`,
  ].join('');
});
const ticks = Array.from({ length: 6 }, (_, i) => {
  const x = LABEL + (i / 5) * BARS;
  return `<line x1="${x}" y1="${TOP - 18}" x2="${x}" y2="${TOP + ordered.length * ROW - 10}" stroke="#dde"/><text x="${x}" y="${TOP - 22}" class="d" text-anchor="middle">${((i / 5) * total).toFixed(0)} ms</text>`;
});
const legend = Object.entries(KIND_NAME).map(
  ([k, n], i) =>
    `<rect x="${10 + i * 95}" y="${TOP + ordered.length * ROW}" width="12" height="12" fill="${KIND_COLOR[Number(k)]}"/><text x="${26 + i * 95}" y="${TOP + ordered.length * ROW + 10}" class="d">${n}</text>`,
);
const height = TOP + ordered.length * ROW + 24;
writeFileSync(
  output,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">
<style>.l{font-size:12px;fill:#222}.d{font-size:11px;fill:#555}</style>
<rect width="100%" height="100%" fill="#fff"/>
${ticks.join('\n')}
${rows.join('\n')}
${legend.join('')}
</svg>
`,
);
console.log(`${output}: ${ordered.length} spans over ${total.toFixed(0)} ms`);
