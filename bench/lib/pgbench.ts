import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface PgbenchResult {
  script: string;
  clients: number;
  threads: number;
  seconds: number;
  /** Transactions per second: for these scripts, one transaction = one API request's statements. */
  tps: number;
  latencyAvgMs: number;
  transactions: number;
  failed: number;
  valid: boolean;
  invalidReason: string | null;
}

export function pgbenchVersion(): string | null {
  try {
    return execFileSync('pgbench', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/**
 * Runs one bench/pg-limit script with pgbench in prepared mode (parse and plan
 * once per connection: the best this SQL can do), `clients` connections.
 */
export async function runPgbench(o: {
  url: string;
  scriptDir: string;
  script: string;
  clients: number;
  seconds: number;
  vars: Record<string, string | number>;
}): Promise<PgbenchResult> {
  const threads = Math.min(2, o.clients);
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(o.clients),
    '-j',
    String(threads),
    '-T',
    String(o.seconds),
    '-f',
    join(o.scriptDir, o.script),
  ];
  for (const [k, v] of Object.entries(o.vars)) args.push('-D', `${k}=${v}`);
  args.push(o.url);
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile('pgbench', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  const tps = num(/^tps = ([\d.]+)/m);
  const transactions = num(/number of transactions actually processed: (\d+)/);
  const failed = num(/number of failed transactions: (\d+)/) || 0;
  const reasons: string[] = [];
  if (code !== 0) reasons.push(`pgbench exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (failed > 0) reasons.push(`${failed} failed transactions`);
  if (!Number.isFinite(tps)) reasons.push('no tps in the output');
  return {
    script: o.script,
    clients: o.clients,
    threads,
    seconds: o.seconds,
    tps: Math.round(tps * 10) / 10,
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    transactions,
    failed,
    valid: reasons.length === 0,
    invalidReason: reasons.length ? reasons.join('; ') : null,
  };
}
