/** One audit line: what was checked, how many broke it (must be 0), and a few of them to look at. */
export interface AuditLine {
  name: string;
  count: number;
  examples: string[];
}

export function line(name: string, failures: string[]): AuditLine {
  return { name, count: failures.length, examples: failures.slice(0, 5) };
}

export function groupBy<T>(rows: readonly T[], key: (r: T) => string | null): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    if (k === null) continue;
    const list = map.get(k);
    if (list) list.push(r);
    else map.set(k, [r]);
  }
  return map;
}

export const sum = <T>(rows: readonly T[], f: (r: T) => number) => rows.reduce((s, r) => s + f(r), 0);
