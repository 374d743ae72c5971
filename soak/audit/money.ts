import type { DbSnapshot } from './database.js';
import { groupBy, line, sum, type AuditLine } from './line.js';
import type { ProviderPayment } from './sources.js';

const refunded = (p: ProviderPayment, statuses: string[] = ['succeeded']) =>
  sum(
    p.refunds.filter((r) => statuses.includes(r.status)),
    (r) => r.amount,
  );
const settledToZero = (p: ProviderPayment) => p.held === 0 && p.captured - refunded(p) === 0;

/**
 * Money a provider holds for us: every payment that took money belongs to exactly one order, or
 * was given back in full (a charge whose order never came, a second charge for one order).
 */
export function providerPayments(db: DbSnapshot, payments: ProviderPayment[]): AuditLine {
  const ordersByTx = groupBy(db.orders, (o) => o.transaction_id);
  const failures: string[] = [];
  const tookMoney = payments.filter((p) => p.held > 0 || p.captured > 0);
  for (const p of tookMoney.filter((x) => x.transactionId === null))
    failures.push(`${p.provider} ${p.id}: money for no transaction of ours`);
  for (const [tx, group] of groupBy(tookMoney, (p) => p.transactionId)) {
    const orders = ordersByTx.get(tx)?.length ?? 0;
    const kept = group.filter((p) => !settledToZero(p));
    if (orders > 1) failures.push(`transaction ${tx}: ${orders} orders`);
    if (orders === 0 && kept.length > 0)
      failures.push(`transaction ${tx}: ${kept.map((p) => `${p.provider} ${p.id}`).join(', ')} kept money, no order`);
    if (orders === 1 && kept.length > 1)
      failures.push(`transaction ${tx}: ${kept.length} provider payments kept money for one order`);
  }
  return line('provider charges without exactly one order or one full refund', failures);
}

/** Each capture and refund our ledger asked for moved money once at the provider. */
export function movedTwice(db: DbSnapshot, payments: ProviderPayment[]): AuditLine {
  const ledgerIds = new Set(db.ledger.map((l) => l.id));
  const movements = payments.flatMap((p) => [
    ...p.captures.map((c) => ({ ...c, what: `${p.provider} capture` })),
    ...p.refunds.filter((r) => r.status !== 'failed').map((r) => ({ ...r, what: `${p.provider} refund` })),
  ]);
  const failures: string[] = [];
  for (const [ledgerId, moved] of groupBy(movements, (m) => m.ledgerId)) {
    if (moved.length > 1)
      failures.push(`ledger row ${ledgerId}: ${moved.map((m) => `${m.what} ${m.id} ${m.amount}`).join(', ')}`);
    if (!ledgerIds.has(ledgerId))
      failures.push(`${moved[0]!.what} ${moved[0]!.id} names ledger row ${ledgerId}, which does not exist`);
  }
  return line('money captured or refunded twice for one ledger row', failures);
}

/** Per payment, what the ledger says was captured, refunded and still held = what the provider says. */
export function ledgerMatchesProvider(db: DbSnapshot, payments: ProviderPayment[]): AuditLine {
  const ledger = groupBy(db.ledger, (l) => l.transaction_id);
  const atProvider = groupBy(payments, (p) => p.transactionId);
  const failures: string[] = [];
  for (const t of db.transactions.filter((x) => x.provider !== 'sandbox')) {
    const rows = ledger.get(t.id) ?? [];
    const of = (kind: string, status: string) =>
      sum(
        rows.filter((r) => r.kind === kind && r.status === status),
        (r) => r.amount,
      );
    const ours = {
      captured: of('capture', 'succeeded'),
      refunded: of('refund', 'succeeded'),
      held: rows.some((r) => r.kind === 'capture' && r.status !== 'failed')
        ? 0
        : Math.max(0, of('authorization', 'succeeded') - of('void', 'succeeded')),
    };
    const theirs = atProvider.get(t.id) ?? [];
    const provider = {
      captured: sum(theirs, (p) => p.captured),
      refunded: sum(theirs, (p) => refunded(p)),
      held: sum(theirs, (p) => p.held),
    };
    if (ours.captured !== provider.captured || ours.refunded !== provider.refunded || ours.held !== provider.held) {
      failures.push(`${t.provider} ${t.id}: ledger ${JSON.stringify(ours)} ≠ provider ${JSON.stringify(provider)}`);
    }
  }
  return line('ledger ≠ provider records per payment', failures);
}

export function refundsAboveCaptured(db: DbSnapshot, payments: ProviderPayment[]): AuditLine {
  const failures: string[] = [];
  for (const [tx, rows] of groupBy(db.ledger, (l) => l.transaction_id)) {
    const captured = sum(
      rows.filter((r) => r.kind === 'capture' && r.status === 'succeeded'),
      (r) => r.amount,
    );
    const refunds = sum(
      rows.filter((r) => r.kind === 'refund' && r.status !== 'failed'),
      (r) => r.amount,
    );
    if (refunds > captured) failures.push(`ledger of ${tx}: refunds ${refunds} > captured ${captured}`);
  }
  for (const p of payments) {
    const refunds = refunded(p, ['succeeded', 'pending']);
    if (refunds > p.captured) failures.push(`${p.provider} ${p.id}: refunds ${refunds} > captured ${p.captured}`);
  }
  return line('refunds above captured', failures);
}
