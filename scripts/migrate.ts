import { loadConfig } from '../src/config.js';
import { createDb } from '../src/persistence/db.js';
import { migrateToLatest } from '../src/persistence/migrations/index.js';

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
const config = loadConfig();
const database = await createDb(config.database);
try {
  const applied = await migrateToLatest(database.db as never);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await database.close();
}
