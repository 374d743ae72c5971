import { readDatabase } from './database.js';
import type { AuditLine } from './line.js';
import { messages } from './messages.js';
import { ledgerMatchesProvider, movedTwice, providerPayments, refundsAboveCaptured } from './money.js';
import { acknowledged, stock, stuck } from './orders.js';
import { primaryClient, readAcks, readBroker, readEmails, readProviders, type AuditInput } from './sources.js';

export type { AuditLine } from './line.js';
export type { AuditInput } from './sources.js';

/**
 * The independent audit, run once the relay and the reconciler have drained. It imports nothing
 * from src/ (eslint holds it to that): a bug in the service's model cannot hide itself here.
 * Every line's count must be zero.
 */
export async function runAudit(input: AuditInput): Promise<AuditLine[]> {
  const client = await primaryClient(input.databaseUrls);
  let db;
  try {
    db = await readDatabase(client);
  } finally {
    await client.end();
  }
  const [payments, events, emails] = await Promise.all([
    readProviders(input.providers),
    readBroker(input.amqpUrl, input.queue),
    readEmails(input.emailRecordsUrl),
  ]);
  const acks = readAcks(input.ackLog);
  return [
    ...acknowledged(db, acks),
    providerPayments(db, payments),
    movedTwice(db, payments),
    ledgerMatchesProvider(db, payments),
    refundsAboveCaptured(db, payments),
    stock(db, acks),
    ...messages(db, events, emails),
    ...stuck(db, input.deadlines),
  ];
}
