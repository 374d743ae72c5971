import type { Db } from './tables.js';

/** Records a provider's event id; false when it was seen before (deliveries are at least once). */
export async function recordWebhookEvent(trx: Db, provider: string, eventId: string, type: string): Promise<boolean> {
  const first = await trx
    .insertInto('webhook_events')
    .values({ provider, event_id: eventId, type })
    .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return first !== undefined;
}

export async function isWebhookEventRecorded(db: Db, provider: string, eventId: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_events')
    .select('event_id')
    .where('provider', '=', provider)
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return row !== undefined;
}
