import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `npm run relay` as a process of its own beside the instances (whose relays run too), as a
 * deployment that scales the relay apart runs it: the soak SIGKILLs it mid-batch and starts it again.
 */
export interface RelayProcess {
  /** The running relay's process id, if it runs. */
  pid(): number | undefined;
  kill(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function startRelay(
  env: Record<string, string | undefined>,
  out: (source: string, text: string) => void,
): RelayProcess {
  let child: ChildProcess | null = null;
  const start = () => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/workers/relay-main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout?.on('data', (d: Buffer) => out('relay', d.toString()));
    c.stderr?.on('data', (d: Buffer) => out('relay', d.toString()));
    child = c;
  };
  const signal = async (sig: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(sig);
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  start();
  return { pid: () => child?.pid, kill: () => signal('SIGKILL'), start, stop: () => signal('SIGTERM') };
}
