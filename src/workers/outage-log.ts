import type { Logger } from '../observability/logger.js';

/**
 * One log line when a loop starts failing, one when it works again (with how long and how many
 * attempts), and a reminder at most every `remindEveryMs` in between — not one line per poll while
 * the database is away, which would bury everything else in the log during a failover.
 */
export interface OutageLog {
  failed(err: unknown): void;
  succeeded(): void;
}

export function createOutageLog(
  logger: Pick<Logger, 'error' | 'info'>,
  what: string,
  opts: { remindEveryMs?: number; now?: () => number } = {},
): OutageLog {
  const remindEveryMs = opts.remindEveryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let since: number | null = null;
  let lastLogged = 0;
  let failures = 0;
  return {
    failed(err) {
      failures++;
      const t = now();
      if (since === null) {
        since = lastLogged = t;
        logger.error(
          { err },
          `${what} failed; retrying, and logging again when it works or every ${Math.round(remindEveryMs / 1000)} s`,
        );
      } else if (t - lastLogged >= remindEveryMs) {
        lastLogged = t;
        logger.error({ err, failures, failing_for_ms: t - since }, `${what} still failing`);
      }
    },
    succeeded() {
      if (since === null) return;
      logger.info({ failures, failing_for_ms: now() - since }, `${what} works again`);
      since = null;
      failures = 0;
    },
  };
}
