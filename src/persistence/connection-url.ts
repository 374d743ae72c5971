/**
 * libpq's multi-host connection URLs (`postgres://u@h1:5433,h2:5434/db?target_session_attrs=read-write`),
 * which node-postgres does not read: it takes one host. This splits such a URL into one single-host
 * URL per host, in order, plus the session kind the caller wants; the pool (failover-pool.ts) picks
 * among them the way libpq does.
 */
const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number];

export interface HostUrl {
  /** `host:port` as written (IPv6 in brackets), for messages. */
  address: string;
  /** A single-host URL node-postgres reads, with every other part of the original. */
  url: string;
}

export interface ParsedConnectionUrl {
  hosts: HostUrl[];
  targetSessionAttrs: TargetSessionAttrs;
}

const DEFAULT_PORT = '5432';

export function parseConnectionUrl(url: string): ParsedConnectionUrl {
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) throw new Error('a PostgreSQL URL starts with postgres:// or postgresql://');
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostlist = at >= 0 ? authority.slice(at + 1) : authority;

  const [path, query] = splitOnce(rest, '?');
  const params = new URLSearchParams(query ?? '');
  const tsa = params.get('target_session_attrs') ?? 'any';
  if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(tsa)) {
    throw new Error(`target_session_attrs=${tsa} is not one of ${TARGET_SESSION_ATTRS.join(', ')}`);
  }
  // node-postgres must not see it (it is the pool's business); everything else is kept verbatim.
  const search =
    !params.has('target_session_attrs') && query !== undefined
      ? `?${query}`
      : params.size > 1
        ? `?${without(params, 'target_session_attrs')}`
        : '';

  const entries = hostlist.split(',');
  const hosts = entries.map((entry) => {
    // No host at all: node-postgres's own defaults (PGHOST, the local socket).
    if (entry === '') return { address: 'default host', url: `${scheme}${userinfo}${path}${search}` };
    const { host, port } = splitHostPort(entry);
    const address = `${host}:${port}`;
    return { address, url: `${scheme}${userinfo}${address}${path}${search}` };
  });
  return { hosts, targetSessionAttrs: tsa as TargetSessionAttrs };
}

function splitHostPort(entry: string): { host: string; port: string } {
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(entry);
  const [host, port] = v6 ? [v6[1]!, v6[2]] : splitOnce(entry, ':');
  const p = port === undefined || port === '' ? DEFAULT_PORT : port;
  if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65_535)
    throw new Error(`port ${JSON.stringify(p)} of host ${JSON.stringify(host)} is not a port number`);
  return { host, port: p };
}

function without(params: URLSearchParams, name: string): string {
  const kept = new URLSearchParams(params);
  kept.delete(name);
  return kept.toString();
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
