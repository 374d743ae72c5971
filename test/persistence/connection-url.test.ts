import { describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/persistence/connection-url.js';

describe('multi-host DATABASE_URL (libpq syntax)', () => {
  it('splits the hosts in order, each a single-host URL with everything else kept', () => {
    const parsed = parseConnectionUrl(
      'postgres://app:s%40cret@db1:5433,db2:5434/orders?target_session_attrs=read-write&sslmode=require',
    );
    expect(parsed.targetSessionAttrs).toBe('read-write');
    expect(parsed.hosts).toEqual([
      { address: 'db1:5433', url: 'postgres://app:s%40cret@db1:5433/orders?sslmode=require' },
      { address: 'db2:5434', url: 'postgres://app:s%40cret@db2:5434/orders?sslmode=require' },
    ]);
  });

  it('defaults the port to 5432 and target_session_attrs to any, and reads IPv6 and postgresql://', () => {
    const parsed = parseConnectionUrl('postgresql://u@[::1]:6000,[fe80::2],h3/db');
    expect(parsed.targetSessionAttrs).toBe('any');
    expect(parsed.hosts.map((h) => h.address)).toEqual(['[::1]:6000', '[fe80::2]:5432', 'h3:5432']);
    expect(parsed.hosts[0]!.url).toBe('postgresql://u@[::1]:6000/db');
  });

  it('keeps a single-host URL as node-postgres reads it (the options parameter the tests use included)', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dt_1';
    expect(parseConnectionUrl(url)).toEqual({ hosts: [{ address: '127.0.0.1:5432', url }], targetSessionAttrs: 'any' });
    // Without a host at all, node-postgres's defaults (PGHOST, the local socket) apply as before.
    expect(parseConnectionUrl('postgres:///orders').hosts).toEqual([
      { address: 'default host', url: 'postgres:///orders' },
    ]);
  });

  it('refuses what libpq would refuse: an unknown target_session_attrs, a port that is not one', () => {
    expect(() => parseConnectionUrl('postgres://h1,h2/db?target_session_attrs=master')).toThrow(
      /target_session_attrs=master is not one of any, read-write/,
    );
    expect(() => parseConnectionUrl('postgres://h1:54x2,h2/db')).toThrow(/port "54x2" of host "h1"/);
    expect(() => parseConnectionUrl('postgres://h1:70000/db')).toThrow(/not a port number/);
    expect(() => parseConnectionUrl('mysql://h1/db')).toThrow(/postgres:\/\//);
  });

  it('accepts every libpq target_session_attrs value', () => {
    for (const v of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']) {
      expect(parseConnectionUrl(`postgres://h1,h2/db?target_session_attrs=${v}`).targetSessionAttrs).toBe(v);
    }
  });
});
