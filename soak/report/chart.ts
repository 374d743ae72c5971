import type { SoakReport } from './summary.js';

/**
 * The run as a picture (an SVG like bench/chart.ts draws): answers per second over time — 2xx,
 * 4xx, failed (5xx, timeouts, no connection) — with each fault as a shaded band and a label.
 */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(r: SoakReport): string {
  const W = 960;
  const plotH = 260;
  const left = 50;
  const right = 20;
  const top = 40;
  const { bucketMs, ok, refused, failed } = r.timeline;
  const perSecond = (n: number) => n / (bucketMs / 1000);
  const maxY = Math.max(1, ...ok.map((v, i) => perSecond(v + refused[i]! + failed[i]!))) * 1.1;
  const plotW = W - left - right;
  const x = (ms: number) => left + (ms / r.durationMs) * plotW;
  const y = (v: number) => top + plotH - (v / maxY) * plotH;
  const labelRows = r.faults.length;
  const H = top + plotH + 50 + labelRows * 16;
  const parts: string[] = [];
  parts.push(
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(`Soak: answers per second, ${Math.round(r.durationMs / 1000)} s, ${r.instances} instances, seed ${r.seed}`)}</text>`,
  );
  r.faults.forEach((f, i) => {
    const x0 = x(f.start);
    const w = Math.max(2, x(f.end) - x0);
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${plotH}" fill="#ffe8cc" opacity="0.7"/>`,
    );
    parts.push(`<text x="${(x0 + 2).toFixed(1)}" y="${top + 12}" font-size="10" fill="#d9480f">${i + 1}</text>`);
    const ly = top + plotH + 40 + i * 16;
    parts.push(
      `<text x="${left}" y="${ly}" font-size="11" fill="#333">${esc(`${i + 1}. ${(f.start / 1000).toFixed(0)}–${(f.end / 1000).toFixed(0)} s ${f.name}; longest write outage ${(f.longestWriteOutageMs / 1000).toFixed(1)} s`)}</text>`,
    );
  });
  const series = (values: number[], color: string, stackBelow: number[][]) => {
    const pts = values.map((v, i) => {
      const base = stackBelow.reduce((s, arr) => s + arr[i]!, 0);
      return `${x(i * bucketMs + bucketMs / 2).toFixed(1)},${y(perSecond(v + base)).toFixed(1)}`;
    });
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
  };
  series(ok, '#2f9e44', []);
  series(refused, '#1c7ed6', [ok]);
  series(failed, '#e03131', [ok, refused]);
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="#555"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#555"/>`);
  for (let s = 0; s <= r.durationMs / 1000; s += r.durationMs > 300_000 ? 60 : 15) {
    parts.push(
      `<text x="${x(s * 1000).toFixed(1)}" y="${top + plotH + 14}" font-size="10" text-anchor="middle">${s}s</text>`,
    );
  }
  parts.push(`<text x="${left - 6}" y="${top + 10}" font-size="10" text-anchor="end">${maxY.toFixed(0)}/s</text>`);
  parts.push(`<text x="${left - 6}" y="${top + plotH}" font-size="10" text-anchor="end">0</text>`);
  parts.push(
    `<text x="${W - right - 330}" y="22" font-size="11"><tspan fill="#2f9e44">— 2xx</tspan>  <tspan fill="#1c7ed6">— + 4xx</tspan>  <tspan fill="#e03131">— + failed (5xx, timeout, refused)</tspan></text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="${W}" height="${H}" fill="white"/>${parts.join('')}</svg>\n`;
}
