import { ledgerViolation } from '../../src/persistence/ledger.js';

/** What the database answered a ledger write: accepted, or the kind of refusal (`ledgerViolation`). */
export async function refusal(p: Promise<unknown>): Promise<ReturnType<typeof ledgerViolation> | 'accepted'> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    const why = ledgerViolation(err);
    if (!why) throw err;
    return why;
  }
}
