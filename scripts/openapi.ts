import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/persistence/db.js';

/**
 * `npm run lint:openapi`, first half: the app built as the server builds it, on an empty in-memory
 * database it never queries, and its OpenAPI document (what `/openapi.json` serves) written to the
 * path given. No server listens; the second half is `redocly lint` on the file.
 */
const out = process.argv[2] ?? 'dist/openapi.json';
const config = loadConfig({
  NODE_ENV: 'test',
  JWT_SECRET: randomBytes(32).toString('base64url'),
  DATABASE_URL: 'memory://',
  DATA_DIR: '/tmp/order-api-openapi',
});
const database = await createDb(config.database);
const app = await buildApp({ config, db: database.db, logger: false });
await app.ready();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
await database.close();
console.log(`wrote ${out}`);
