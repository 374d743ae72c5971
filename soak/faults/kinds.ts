import type { Rig } from '../rig/index.js';
import type { Shop } from '../traffic/shop.js';

/**
 * Each fault the soak injects: what it breaks and how it heals. `run` resolves once the fault is
 * over (the process restarted, the broker back, the formation whole again) and returns what it hit.
 */
export interface FaultContext {
  rig: Rig;
  shop: Shop;
  /** A seeded draw in [0, n). */
  pick(n: number): number;
}

export interface Fault {
  name: string;
  run(ctx: FaultContext): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killInstance(ctx: FaultContext, signal: NodeJS.Signals, env?: Record<string, string>): Promise<string> {
  const i = ctx.pick(ctx.rig.cluster.instances.length);
  const victim = ctx.rig.cluster.instances[i]!;
  victim.child.kill(signal);
  const exit = await victim.exited;
  if (signal === 'SIGKILL') await sleep(1500);
  await ctx.rig.cluster.restart(i, env);
  return `instance ${victim.port} (${exit.signal ?? `exit ${exit.code}`}), restarted`;
}

/** A provider emulator's own control endpoint: every request meets `kind` for `ms`. */
async function providerOutage(
  ctx: FaultContext,
  provider: 'stripe' | 'square' | 'paypal',
  kind: 'fail' | 'hang' | 'hang-after',
  ms: number,
): Promise<void> {
  const res = await fetch(`${ctx.rig.emulators[provider].url}/__emulator/outage`, {
    method: 'POST',
    body: JSON.stringify({ kind, ms, status: 500 }),
  });
  if (!res.ok) throw new Error(`${provider} emulator refused the outage: ${res.status}`);
  await sleep(ms);
}

const PROVIDERS = ['stripe', 'square', 'paypal'] as const;

const providerFaults: Fault[] = PROVIDERS.flatMap((p) => [
  { name: `${p} answers 500`, run: async (ctx: FaultContext) => (await providerOutage(ctx, p, 'fail', 6000), '6 s') },
  {
    name: `${p} times out`,
    run: async (ctx: FaultContext) => (await providerOutage(ctx, p, 'hang', 4000), '4 s of requests never answered'),
  },
  {
    name: `${p} loses its answers`,
    run: async (ctx: FaultContext) => (
      await providerOutage(ctx, p, 'hang-after', 4000),
      '4 s of requests done, answers lost'
    ),
  },
]);

export const FAULTS: readonly Fault[] = [
  { name: 'instance SIGKILL', run: (ctx) => killInstance(ctx, 'SIGKILL') },
  {
    // A rolling deploy that switches the capture mode: every instance drains (SIGTERM) and comes
    // back with the other PAYMENT_CAPTURE, so both modes run, and side by side during the rollout.
    name: 'deploy (SIGTERM each instance, capture mode switched)',
    run: async (ctx) => {
      const next = ctx.shop.captureMode === 'immediate' ? 'shipment' : 'immediate';
      ctx.shop.captureMode = next;
      const done: string[] = [];
      for (let i = 0; i < ctx.rig.cluster.instances.length; i++) {
        const victim = ctx.rig.cluster.instances[i]!;
        victim.child.kill('SIGTERM');
        const exit = await victim.exited;
        await ctx.rig.cluster.restart(i, { PAYMENT_CAPTURE: next });
        done.push(`${victim.port} exit ${exit.code ?? exit.signal}`);
      }
      return `PAYMENT_CAPTURE=${next}; ${done.join(', ')}`;
    },
  },
  {
    name: 'PostgreSQL primary SIGKILL (failover)',
    run: async ({ rig }) => {
      const primary = await rig.ha.primary();
      if (!primary) return 'no primary to kill';
      const other = rig.ha.nodes.find((n) => n !== primary)!;
      await rig.ha.kill(primary);
      await rig.ha
        .waitForStates({ [other.name]: 'wait_primary' }, 120_000)
        .catch(() => rig.ha.waitForStates({ [other.name]: 'primary' }, 10_000));
      // Its machine comes back: the old primary rejoins as the standby.
      rig.ha.restart(primary);
      await rig.ha.waitForStates({ [other.name]: 'primary', [primary.name]: 'secondary' }, 180_000);
      return `${primary.name} killed, ${other.name} promoted, ${primary.name} back as standby`;
    },
  },
  {
    name: 'RabbitMQ stopped',
    run: async ({ rig }) => {
      await rig.rabbit.stopApp();
      await sleep(8000);
      await rig.rabbit.startApp();
      await rig.rabbit.waitAccepting();
      return `${rig.rabbit.node} stop_app, 8 s, start_app`;
    },
  },
  {
    name: 'email sink down',
    run: async ({ rig }) => {
      await rig.email.down();
      await sleep(10_000);
      await rig.email.up();
      return '10 s refusing connections';
    },
  },
  {
    // A backlog builds while the sink is down; the relay is killed while it delivers it.
    name: 'relay SIGKILL mid-batch',
    run: async ({ rig }) => {
      await rig.email.down();
      await sleep(4000);
      await rig.email.up();
      await sleep(150);
      await rig.relay.kill();
      await sleep(1000);
      rig.relay.start();
      return 'email backlog of 4 s, relay killed 150 ms into its delivery, restarted';
    },
  },
  {
    // Charges whose answers were lost are left to the reconciler; an instance dies while it works on them.
    name: 'reconciler SIGKILL mid-pass',
    run: async (ctx) => {
      await providerOutage(ctx, 'stripe', 'hang-after', 3000);
      await sleep(3500);
      return `stripe answers lost for 3 s, then ${await killInstance(ctx, 'SIGKILL')}`;
    },
  },
  ...providerFaults,
];
