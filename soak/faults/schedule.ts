import type { Random } from '../random.js';
import { FAULTS, type Fault, type FaultContext } from './kinds.js';

/**
 * The faults of a run and when they start, drawn from the seed before any traffic and printed, so
 * a run can be repeated. Faults run one after another (one starts no earlier than the previous
 * ended), spread over the first 85 % of the run; the rest is quiet, so every fault's aftermath is seen.
 */
export interface PlannedFault {
  at: number;
  fault: Fault;
}

export interface FaultEvent {
  name: string;
  start: number;
  end: number;
  detail: string;
}

/** The short soak's faults (npm test): one of each family. */
export const SHORT_FAULTS = [
  'instance SIGKILL',
  'PostgreSQL primary SIGKILL (failover)',
  'RabbitMQ stopped',
  'relay SIGKILL mid-batch',
  'stripe loses its answers',
  'deploy (SIGTERM each instance, capture mode switched)',
];

export function planFaults(rnd: Random, durationMs: number, only?: readonly string[]): PlannedFault[] {
  const unknown = only?.filter((name) => !FAULTS.some((f) => f.name === name)) ?? [];
  if (unknown.length > 0)
    throw new Error(`no such fault: ${unknown.join(', ')} (the faults: ${FAULTS.map((f) => f.name).join(', ')})`);
  const chosen = only ? FAULTS.filter((f) => only.includes(f.name)) : [...FAULTS];
  // Shuffled by the seed, then placed evenly with a little jitter.
  const order = chosen.map((f) => ({ f, k: rnd.next() })).sort((a, b) => a.k - b.k);
  const span = durationMs * 0.85;
  const step = span / (order.length + 1);
  return order.map(({ f }, i) => ({ at: Math.round(step * (i + 0.5) + rnd.next() * step * 0.5), fault: f }));
}

export async function runFaults(
  plan: PlannedFault[],
  ctx: FaultContext,
  now: () => number,
  log: (e: FaultEvent) => void,
): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  for (const { at, fault } of plan) {
    const wait = at - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const start = now();
    let detail: string;
    try {
      detail = await fault.run(ctx);
    } catch (err) {
      detail = `FAILED TO INJECT: ${(err as Error).message}`;
    }
    const event = { name: fault.name, start, end: now(), detail };
    events.push(event);
    log(event);
  }
  return events;
}
