import { describe, expect, it } from 'vitest';
import { planInstall, SYSTEM_PACKAGES } from '../../scripts/system-packages.js';

const machine = (present: string[], isRoot: boolean) => ({ has: (c: string) => present.includes(c), isRoot });
const all = SYSTEM_PACKAGES.map((p) => p.command);

describe('the pretest system-package check', () => {
  it('does nothing when every command is there', () => {
    expect(planInstall(machine([...all, 'apt-get'], true))).toEqual({ kind: 'ready' });
    expect(planInstall(machine(all, false))).toEqual({ kind: 'ready' });
  });

  it('installs exactly the missing packages when root with apt-get (a fresh machine)', () => {
    const plan = planInstall(machine(['apt-get', 'nginx'], true));
    expect(plan).toEqual({
      kind: 'install',
      packages: ['chromium', 'postgresql-15-auto-failover'],
      commands: [
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', '--no-install-recommends', 'chromium', 'postgresql-15-auto-failover'],
      ],
    });
    expect(planInstall(machine(['apt-get', 'nginx', 'chromium'], true))).toMatchObject({
      packages: ['postgresql-15-auto-failover'],
    });
  });

  it('stops with one line naming the command when it may not install', () => {
    for (const probe of [machine(['apt-get'], false), machine([], true)]) {
      const plan = planInstall(probe);
      expect(plan.kind).toBe('refuse');
      if (plan.kind !== 'refuse') continue;
      expect(plan.message).not.toContain('\n');
      expect(plan.message).toContain(
        'apt-get install -y --no-install-recommends nginx-light chromium postgresql-15-auto-failover',
      );
    }
  });
});
