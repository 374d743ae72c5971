import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServiceOptions {
  cwd: string;
  env: Record<string, string>;
  /** Directory for a --cpu-prof profile, or null. */
  profileDir: string | null;
  profileName?: string;
}

export interface Service {
  pid: number;
  baseUrl: string;
  port: number;
  /** Lines the service wrote at warn level or above (LOG_LEVEL=warn), most recent last. */
  logTail(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * Starts `src/server.ts` as its own Node process (`node --import tsx`, so the
 * pid sampled is the service itself, not a tsx wrapper) and waits for /readyz.
 */
export async function startService(opts: ServiceOptions): Promise<Service> {
  const port = await freePort();
  const flags = ['--import', 'tsx'];
  if (opts.profileDir)
    flags.push(
      '--cpu-prof',
      `--cpu-prof-dir=${opts.profileDir}`,
      ...(opts.profileName ? [`--cpu-prof-name=${opts.profileName}`] : []),
    );
  const child: ChildProcess = spawn(process.execPath, [...flags, 'src/server.ts'], {
    cwd: opts.cwd,
    env: { ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (tail.length > 200) tail.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined)
      throw new Error(`the service exited with ${exited} before it was ready:\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service was not ready within 120 s:\n${tail.join('\n')}`);
    }
    await sleep(200);
  }

  return {
    pid: child.pid as number,
    baseUrl,
    port,
    logTail: () => [...tail],
    async stop() {
      if (exited !== undefined) return;
      const done = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await done;
      clearTimeout(timer);
    },
  };
}
