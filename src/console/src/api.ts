import { accessToken, renew } from './session';

/** The public API, as the console calls it: the session's bearer token, JSON in and out, problems as errors. */

/** An RFC 9457 problem the service answered (or one made up for a network failure). */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly code: string,
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(`${title}: ${detail}`);
  }
}

/**
 * One call. A 401 with the session's token (it expired a moment ago, or the provider rotated its
 * keys) renews the token once and sends the very same request again: same body, same
 * Idempotency-Key. The service authenticates before any route runs, so the refused request did
 * nothing, and the resend is the first that acts. Never more than one resend.
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const token = headers.authorization ? null : await accessToken();
  let res = await send(method, path, body, token ? { ...headers, authorization: `Bearer ${token}` } : headers);
  if (res.status === 401 && token) {
    const fresh = await renew(token);
    if (fresh && fresh !== token)
      res = await send(method, path, body, { ...headers, authorization: `Bearer ${fresh}` });
  }
  return answer<T>(res);
}

async function send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  try {
    return await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Problem(0, 'Network error', `The service did not answer (${(err as Error).message}).`, 'network_error');
  }
}

async function answer<T>(res: Response): Promise<T> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: handled below */
  }
  if (!res.ok) {
    const p = (json ?? {}) as {
      title?: string;
      detail?: string;
      code?: string;
      errors?: { path: string; message: string }[];
    };
    throw new Problem(
      res.status,
      p.title ?? `HTTP ${res.status}`,
      p.detail ?? (text.slice(0, 200) || res.statusText),
      p.code ?? 'unknown',
      p.errors ?? [],
    );
  }
  return json as T;
}

export const newKey = () => crypto.randomUUID();
