import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the support console (src/console) with Vite into dist/console, which the service serves at
 * /admin. `--if-missing`: only when there is no build yet (npm start, tests). `--if-possible`: the npm
 * `prepare` step, which also runs where the sources or the dev tools are absent (a production
 * install, a Docker layer with only package.json): it then skips instead of failing the install.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_DIST = join(root, 'dist', 'console');

export async function buildConsole(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(root, 'src', 'console', 'vite.config.ts'), logLevel: 'warn' });
}

export async function ensureConsoleBuilt(): Promise<void> {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) await buildConsole();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--if-possible') && !existsSync(join(root, 'src', 'console', 'index.html'))) {
    console.log('console: no sources here, not built');
  } else if (args.includes('--if-possible') && !existsSync(join(root, 'node_modules', 'vite'))) {
    console.log('console: vite is not installed (production install), not built');
  } else if (args.includes('--if-missing')) {
    await ensureConsoleBuilt();
  } else {
    await buildConsole();
  }
}
