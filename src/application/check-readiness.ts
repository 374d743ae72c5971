import { pingDatabase } from '../persistence/db.js';
import type { Deps } from './deps.js';

/** Ready means the database answers: every route but the liveness probe needs it. Rejects otherwise. */
export async function checkReadiness(deps: Pick<Deps, 'db'>): Promise<void> {
  await pingDatabase(deps.db);
}
