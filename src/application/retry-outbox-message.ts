import { DomainError } from '../domain/errors.js';
import { findOutboxMessage, reviveDeadMessage } from '../persistence/outbox-admin.js';
import { OUTBOX_ID, toOutboxItem, type OutboxItem } from './outbox-item.js';
import type { Deps } from './deps.js';

/**
 * Puts a dead message back in line with a fresh attempt budget, due now.
 * Retrying a pending message changes nothing and answers 200 (a double click
 * is not an error, and a relay may hold its lease); a delivered one is 409
 * `invalid_transition`: re-sending what was delivered is not a retry.
 */
export async function retryOutboxMessage(deps: Pick<Deps, 'db'>, id: string): Promise<OutboxItem> {
  if (!OUTBOX_ID.test(id)) throw notFound();
  const revived = await reviveDeadMessage(deps.db, id);
  if (revived) return toOutboxItem(revived);
  const row = await findOutboxMessage(deps.db, id);
  if (!row) throw notFound();
  if (row.status === 'pending') return toOutboxItem(row);
  throw new DomainError('invalid_transition', `This message is ${row.status}; only dead messages can be retried.`);
}

const notFound = (): DomainError => new DomainError('not_found', 'No outbox message with this id.');
