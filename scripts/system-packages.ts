import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/**
 * The Debian packages the services tier needs beside the npm ones, in one place. `npm test` runs this
 * first (npm's `pretest`), so the README's two commands work on a fresh machine: what is missing is
 * installed when this process may (root, apt-get), and otherwise the run stops before any test with
 * the one command to run. A missing package never turns into a skipped test.
 */
export const SYSTEM_PACKAGES = [
  { command: 'nginx', pkg: 'nginx-light', why: 'the scale-out tests balance instances behind it' },
  { command: 'chromium', pkg: 'chromium', why: 'the /docs and /admin browser tests' },
  {
    command: 'pg_autoctl',
    pkg: 'postgresql-15-auto-failover',
    why: 'the database failover test runs a pg_auto_failover monitor and two nodes',
  },
] as const;

export interface Probe {
  has: (command: string) => boolean;
  isRoot: boolean;
}

export type Plan =
  | { kind: 'ready' }
  | { kind: 'install'; packages: string[]; commands: string[][] }
  | { kind: 'refuse'; message: string };

export function planInstall(probe: Probe): Plan {
  const missing = SYSTEM_PACKAGES.filter((p) => !probe.has(p.command)).map((p) => p.pkg);
  if (missing.length === 0) return { kind: 'ready' };
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...missing];
  if (probe.isRoot && probe.has('apt-get')) {
    return { kind: 'install', packages: missing, commands: [['apt-get', 'update'], install] };
  }
  return {
    kind: 'refuse',
    message: `npm test needs ${missing.join(', ')} from Debian; run: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install.join(' ')}`,
  };
}

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

function main(): number {
  const probe: Probe = { has: hasCommand, isRoot: process.getuid?.() === 0 };
  const plan = planInstall(probe);
  if (plan.kind === 'ready') return 0;
  if (plan.kind === 'refuse') {
    console.error(plan.message);
    return 1;
  }
  console.log(`pretest: installing ${plan.packages.join(', ')} from Debian (needed by the services tier)`);
  for (const [cmd, ...args] of plan.commands) {
    const r = spawnSync(cmd!, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      console.error(
        `pretest: '${[cmd, ...args].join(' ')}' failed (exit ${r.status}); install ${plan.packages.join(', ')} and run npm test again`,
      );
      return 1;
    }
  }
  const still = planInstall(probe);
  if (still.kind !== 'ready') {
    console.error(`pretest: ${plan.packages.join(', ')} installed but still not on PATH`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(main());
