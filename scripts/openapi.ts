import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/persistence/db.js';

/**
 * `npm run lint:openapi`, first half: the app built as the server builds it, on an empty in-memory
 * database it never queries, and its OpenAPI document (what `/openapi.json` serves) written to the
 * path given. No server listens; the second half is `redocly lint` on the file. Adyen and Mollie are
 * configured (keys of the right shape, never used) so that their webhook routes, registered only for
 * a configured provider, are in the document too.
 */
const out = process.argv[2] ?? 'dist/openapi.json';
const config = loadConfig({
  NODE_ENV: 'test',
  JWT_SECRET: randomBytes(32).toString('base64url'),
  DATABASE_URL: 'memory://',
  DATA_DIR: '/tmp/order-api-openapi',
  ADYEN_API_KEY: 'openapi-lint',
  ADYEN_MERCHANT_ACCOUNT: 'OpenApiLint',
  ADYEN_HMAC_KEY: '00'.repeat(32),
  MOLLIE_API_KEY: `test_${'x'.repeat(30)}`,
});
const database = await createDb(config.database);
const app = await buildApp({ config, db: database.db, logger: false });
await app.ready();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
await database.close();
console.log(`wrote ${out}`);
