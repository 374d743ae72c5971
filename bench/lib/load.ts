import autocannon from 'autocannon';

/** One request of a scenario: everything that varies from request to request. */
export interface NextRequest {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  body?: string;
  /** A form body (the sandbox's 3-D Secure page) instead of JSON. */
  form?: boolean;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; mean: number; max: number };
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  valid: boolean;
  invalidReason: string | null;
}

/**
 * Drives the service at a fixed concurrency for a fixed time with autocannon.
 * Every request is built by `next()` (autocannon's per-request setupRequest),
 * and every response time is kept (float ms), so p95/p99 are exact.
 */
export async function runLoad(
  baseUrl: string,
  next: (() => NextRequest) | (() => NextRequest)[],
  o: { connections: number; seconds: number },
): Promise<LoadResult> {
  const makers = Array.isArray(next) ? next : [next];
  let times = new Float64Array(1 << 16);
  let n = 0;
  const statusCodes: Record<string, number> = {};
  let done!: (r: autocannon.Result) => void;
  let fail!: (e: unknown) => void;
  const finished = new Promise<autocannon.Result>((res, rej) => {
    done = res;
    fail = rej;
  });
  const instance = autocannon(
    {
      url: baseUrl,
      connections: o.connections,
      duration: o.seconds,
      timeout: 10,
      requests: makers.map((make) => ({
        setupRequest: (req: autocannon.Request) => {
          const r = make();
          const headers: Record<string, string> = { authorization: `Bearer ${r.token}` };
          if (r.body !== undefined)
            headers['content-type'] = r.form ? 'application/x-www-form-urlencoded' : 'application/json';
          return { ...req, method: r.method, path: r.path, headers, body: r.body };
        },
      })),
    },
    (err, result) => (err ? fail(err) : done(result)),
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    if (n === times.length) {
      const bigger = new Float64Array(times.length * 2);
      bigger.set(times);
      times = bigger;
    }
    times[n++] = ms;
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  });
  const result = await finished;
  const sorted = times.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? NaN : round2(sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] as number));
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] as number;
  // 303 is the sandbox page's answer (back to the return URL); no other scenario is answered with it.
  const non2xx = Object.entries(statusCodes)
    .filter(([s]) => !s.startsWith('2') && s !== '303')
    .reduce((a, [, c]) => a + c, 0);
  const reasons: string[] = [];
  if (non2xx > 0) reasons.push(`${non2xx} non-2xx responses (${JSON.stringify(statusCodes)})`);
  if (result.errors > 0) reasons.push(`${result.errors} socket errors`);
  if (result.timeouts > 0) reasons.push(`${result.timeouts} timeouts`);
  if (n === 0) reasons.push('no responses');
  const seconds = result.duration;
  return {
    seconds,
    requests: n,
    rps: Math.round((n / seconds) * 10) / 10,
    latencyMs: {
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      mean: round2(n ? sum / n : NaN),
      max: round2(n ? (sorted[n - 1] as number) : NaN),
    },
    statusCodes,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    valid: reasons.length === 0,
    invalidReason: reasons.length ? reasons.join('; ') : null,
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
