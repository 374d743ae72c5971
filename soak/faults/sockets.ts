import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Which process holds each TCP connection to `port` on this machine: client port → pid, from
 * `ss` (iproute2; our own processes need no privilege). A server that holds a request knows only
 * the client's port; this says which instance or relay sent it, so a fault can kill the very
 * process that has work in flight.
 */
async function clientPids(port: number): Promise<Map<number, number>> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', 'dport', '=', `:${port}`]);
  const pids = new Map<number, number>();
  for (const line of stdout.split('\n')) {
    // Recv-Q Send-Q Local:Port Peer:Port users:(("node",pid=123,fd=45))
    const m = /^\s*\d+\s+\d+\s+\S+:(\d+)\s+\S+:\d+\s+.*pid=(\d+)/.exec(line);
    if (m) pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

/** The pids that hold the requests a server reports held (by their client ports). */
export async function pidsHolding(port: number, clientPorts: readonly number[]): Promise<number[]> {
  const pids = await clientPids(port);
  return clientPorts.map((p) => pids.get(p)).filter((p): p is number => p !== undefined);
}
