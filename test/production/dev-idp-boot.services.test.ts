import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

/**
 * The development OpenID provider cannot run in production: the real process refuses to boot when
 * asked for it there (docs/adr/0019), before opening a database or a port.
 */
describe('DEV_IDP in production', () => {
  it('NODE_ENV=production with DEV_IDP=true exits 1 at boot, naming the reason', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DEV_IDP: 'true',
        DATABASE_URL: 'memory://',
        JWT_SECRET: 'a-production-secret-of-at-least-32-chars!',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toMatch(/DEV_IDP cannot be enabled when NODE_ENV=production/);
  }, 60_000);
});
