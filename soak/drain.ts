import { primaryClient } from './audit/sources.js';
import type { Rig } from './rig/index.js';
import type { Shop } from './traffic/shop.js';

/**
 * After the traffic: every fault healed (each instance and the relay running, the broker and the
 * email sink up, both database nodes in the formation), then wait until the webhooks still being
 * retried are through and the database has nothing left in flight — no charge processing, no
 * movement pending, no message undelivered, no order waiting for its customer — or `timeoutMs` passed (the audit then says what is stuck).
 */
export async function healAndDrain(rig: Rig, shop: Shop, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await rig.email.up();
  rig.email.answer();
  await rig.rabbit.startApp().catch(() => undefined);
  await rig.rabbit.waitAccepting();
  for (const [i, instance] of rig.cluster.instances.entries()) {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) await rig.cluster.restart(i);
  }
  for (const node of rig.ha.nodes)
    if (node.child.exitCode !== null || node.child.signalCode !== null) rig.ha.restart(node);
  await Promise.all([...shop.background]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await inFlight(rig).catch(() => -1);
    if (left === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return performance.now() - started;
}

async function inFlight(rig: Rig): Promise<number> {
  const client = await primaryClient(rig.ha.nodes.map((n) => n.url));
  try {
    const { rows } = await client.query<{ n: number }>(`
      select (select count(*) from payment_transactions where status = 'processing')
           + (select count(*) from payment_ledger where status = 'pending')
           + (select count(*) from outbox where status = 'pending')
           + (select count(*) from orders where status = 'awaiting_payment') as n`);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}
