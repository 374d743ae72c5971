import { sql } from 'kysely';
import type { CancelUnits } from '../domain/partial-cancel.js';
import { stockReturn } from './product-repository.js';
import { idArray, qtyArray } from './sql-fragments.js';
import type { Db } from './tables.js';

/**
 * Some units of a pending order cancelled, inside the caller's transaction (which holds the order's
 * row lock): counted in `quantity_cancelled`, their stock given back, the order's `updated_at`
 * moved. The table's check (cancelled + returned ≤ quantity) refuses a unit cancelled twice.
 */
export async function cancelUnits(trx: Db, orderId: string, units: readonly CancelUnits[], now: Date): Promise<void> {
  if (units.length === 0) return;
  await sql`
    update order_items oi set quantity_cancelled = oi.quantity_cancelled + w.quantity
    from unnest(${idArray(units.map((u) => u.product_id))}, ${qtyArray(units.map((u) => u.quantity))}) as w(id, quantity)
    where oi.order_id = ${orderId}::uuid and oi.product_id = w.id`.execute(trx);
  await trx.updateTable('orders').set({ updated_at: now }).where('id', '=', orderId).execute();
  await stockReturn(units).execute(trx);
}
