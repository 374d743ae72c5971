import { errors } from '../domain/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed return id names no return: 404, like one that is not there. */
export function assertReturnId(id: string): string {
  if (!UUID.test(id)) throw errors.returnNotFound();
  return id.toLowerCase();
}
