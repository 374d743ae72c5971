/** Conversions from what the drivers return to domain values, checked. */
export function toAmount(v: string | number | bigint): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${String(v)} is outside the safe integer range`);
  return n;
}

export function toIso(v: Date | string): string {
  return (v instanceof Date ? v : new Date(v)).toISOString();
}
