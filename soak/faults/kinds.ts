import { emulatorRequest, primaryClient } from '../audit/sources.js';
import type { Rig } from '../rig/index.js';
import type { Shop } from '../traffic/shop.js';
import { pidsHolding } from './sockets.js';

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

async function killInstance(
  ctx: FaultContext,
  signal: NodeJS.Signals,
  i = ctx.pick(ctx.rig.cluster.instances.length),
): Promise<string> {
  const victim = ctx.rig.cluster.instances[i]!;
  victim.child.kill(signal);
  const exit = await victim.exited;
  if (signal === 'SIGKILL') await sleep(1500);
  await ctx.rig.cluster.restart(i);
  return `instance ${victim.port} (${exit.signal ?? `exit ${exit.code}`}), restarted`;
}

/** Polls `probe` until it answers, for at most `ms`. */
async function until<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`nothing in flight to kill within ${ms / 1000} s`);
    await sleep(200);
  }
}

async function control(base: string, name: string, body: unknown): Promise<void> {
  const res = await emulatorRequest(`${base}/__emulator/${name}`, 'POST', body);
  if (res.status >= 300) throw new Error(`emulator refused ${name}: ${res.status}`);
}

/** Charges a reconciler pass holds: its lease (RECONCILE_LEASE_MS) outlasts a request's own hold (RECONCILE_AFTER_MS). */
async function reconcilerLeases({ rig }: FaultContext): Promise<number> {
  const client = await primaryClient(rig.ha.nodes.map((n) => n.url));
  try {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from payment_transactions
       where status = 'processing' and leased_until > now() + make_interval(secs => $1)`,
      [(rig.deadlines.reconcileAfterMs + 1000) / 1000],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

/** A provider emulator's own control endpoint: every request meets `kind` for `ms`. */
async function providerOutage(
  ctx: FaultContext,
  provider: (typeof PROVIDERS)[number],
  kind: 'fail' | 'hang' | 'hang-after',
  ms: number,
): Promise<void> {
  const res = await emulatorRequest(`${ctx.rig.emulators[provider].url}/__emulator/outage`, 'POST', {
    kind,
    ms,
    status: 500,
  });
  if (res.status >= 300) throw new Error(`${provider} emulator refused the outage: ${res.status}`);
  await sleep(ms);
}

const PROVIDERS = ['stripe', 'square', 'paypal', 'adyen', 'mollie'] as const;

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
    // The relay process dies with deliveries in flight: the sink takes emails but holds its answers,
    // and the relay is SIGKILLed once the sink holds one of its own (told by the client port's pid).
    name: 'relay SIGKILL mid-batch',
    run: async ({ rig }) => {
      rig.email.hold();
      try {
        const pid = rig.relay.pid();
        const inFlight = await until(60_000, async () => {
          const n = (await pidsHolding(rig.email.port, rig.email.heldPorts())).filter((p) => p === pid).length;
          return n > 0 ? n : undefined;
        });
        await rig.relay.kill();
        rig.email.answer();
        await sleep(1000);
        rig.relay.start();
        return `relay pid ${pid} SIGKILLed with ${inFlight} email deliveries of its batch in flight (received, unanswered); restarted`;
      } finally {
        rig.email.answer();
      }
    },
  },
  {
    // An instance dies while its reconciler is mid-pass: Stripe does charges and loses the answers, so
    // the reconciler must find them (a search by transaction id, which only the reconciler makes);
    // Stripe holds those searches unanswered, and the instance whose pass waits on one is SIGKILLed.
    name: 'reconciler SIGKILL mid-pass',
    run: async (ctx) => {
      const stripe = ctx.rig.emulators.stripe;
      const search = '/v1/payment_intents/search';
      await control(stripe.url, 'faults', { kind: 'hang', n: 500, match: `^GET ${search}$` });
      // Intents made and their answers lost, for every attempt of the SDK (three, 10 s apart) of the
      // creates of the next half minute or so: an outage of a few seconds is outlived by the SDK's own
      // retries, which then get the answer, and leaves the reconciler nothing to do.
      await control(stripe.url, 'faults', { kind: 'hang-after', n: 60, match: '^POST /v1/payment_intents$' });
      try {
        const caught = await until(90_000, async () => {
          const { held } = (await emulatorRequest(`${stripe.url}/__emulator/held`)).json as {
            held: { path: string; remotePort: number }[];
          };
          const ports = held.filter((h) => h.path === search).map((h) => h.remotePort);
          const pids = await pidsHolding(Number(new URL(stripe.url).port), ports);
          const i = ctx.rig.cluster.instances.findIndex((x) => x.child.pid !== undefined && pids.includes(x.child.pid));
          return i === -1
            ? undefined
            : { i, searches: pids.filter((p) => p === ctx.rig.cluster.instances[i]!.child.pid).length };
        });
        const leased = await reconcilerLeases(ctx);
        const victim = ctx.rig.cluster.instances[caught.i]!;
        victim.child.kill('SIGKILL');
        await victim.exited;
        await control(stripe.url, 'reset', {});
        await sleep(1500);
        await ctx.rig.cluster.restart(caught.i);
        return (
          `stripe lost the answers of 60 creates; instance ${victim.port} SIGKILLed while its reconciler pass waited on ` +
          `${caught.searches} Stripe search(es), ${leased} charge(s) under a reconciler lease; restarted`
        );
      } finally {
        await control(stripe.url, 'reset', {});
      }
    },
  },
  ...providerFaults,
];
