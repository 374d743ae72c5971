import { sql, type RawBuilder } from 'kysely';

/**
 * The charge's part of a payment's ledger sums, from its payment row `p` (migration 017): the
 * authorization is its amount and the capture its `charge_capture`, pending while it is
 * `processing`, counted once it `succeeded`, nothing once it `failed`.
 */
const when = (p: RawBuilder<unknown>, status: string, amount: RawBuilder<unknown>) =>
  sql<string>`case when ${p}.status = ${sql.lit(status)} then ${amount} else 0 end`;

export const chargeAuthorized = (p: RawBuilder<unknown>) => when(p, 'succeeded', sql`${p}.amount`);
export const chargePendingAuthorization = (p: RawBuilder<unknown>) => when(p, 'processing', sql`${p}.amount`);
export const chargeCaptured = (p: RawBuilder<unknown>) => when(p, 'succeeded', sql`coalesce(${p}.charge_capture, 0)`);
export const chargePendingCapture = (p: RawBuilder<unknown>) =>
  when(p, 'processing', sql`coalesce(${p}.charge_capture, 0)`);
/** When the charge's authorization lapses, once it succeeded without a capture (shipment mode). */
export const chargeAuthorizationExpiresAt = (p: RawBuilder<unknown>) =>
  sql<Date | null>`case when ${p}.status = 'succeeded' then ${p}.authorization_expires_at end`;
