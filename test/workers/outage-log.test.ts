import { describe, expect, it } from 'vitest';
import { createOutageLog } from '../../src/workers/outage-log.js';

describe('a worker loop during a database outage logs its start and its end, not every poll', () => {
  it('one error at the start, reminders at most once a minute, one info line on recovery', () => {
    const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      error: (fields: Record<string, unknown>, msg: string) => void lines.push({ level: 'error', fields, msg }),
      info: (fields: Record<string, unknown>, msg: string) => void lines.push({ level: 'info', fields, msg }),
    };
    let t = 0;
    const log = createOutageLog(logger as never, 'outbox relay: claiming a batch', { now: () => t });
    log.succeeded(); // healthy: nothing to say
    const down = new Error('connect ECONNREFUSED');
    for (; t < 90_000; t += 1_000) log.failed(down); // 90 polls, one a second
    t = 95_000;
    log.succeeded();
    log.succeeded();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'outbox relay: claiming a batch failed; retrying, and logging again when it works or every 60 s'],
      ['error', 'outbox relay: claiming a batch still failing'],
      ['info', 'outbox relay: claiming a batch works again'],
    ]);
    expect(lines[0]!.fields.err).toBe(down);
    expect(lines[1]!.fields).toMatchObject({ failures: 61, failing_for_ms: 60_000 });
    expect(lines[2]!.fields).toEqual({ failures: 90, failing_for_ms: 95_000 });
    // A second outage is announced afresh.
    log.failed(down);
    expect(lines).toHaveLength(4);
  });
});
