/** The public API, as the console calls it: the pasted token, JSON in and out, problems as errors. */
const TOKEN_KEY = 'order-api-console-token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

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

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  const t = token.get();
  if (t) h.authorization = `Bearer ${t}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Problem(0, 'Network error', `The service did not answer (${(err as Error).message}).`, 'network_error');
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: handled below */
  }
  if (!res.ok) {
    const p = (json ?? {}) as { title?: string; detail?: string; code?: string; errors?: { path: string; message: string }[] };
    throw new Problem(res.status, p.title ?? `HTTP ${res.status}`, p.detail ?? (text.slice(0, 200) || res.statusText), p.code ?? 'unknown', p.errors ?? []);
  }
  return json as T;
}

export const newKey = () => crypto.randomUUID();
