/**
 * A failure that no retry can fix (a payload the relay cannot read, a kind
 * with no template): the row goes dead at once instead of after N attempts.
 * Everything else (timeouts, refused connections, 5xx, nacks) is transient.
 */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

/** What goes into last_error: the message chain, never a stack or a secret-bearing URL. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
  const rawCode = (err as { code?: unknown }).code;
  const code = typeof rawCode === 'string' ? ` [${rawCode}]` : '';
  return `${err.message}${code}${cause}`;
}
