import { v7 } from 'uuid';

/**
 * A new row's id: a UUID version 7 (RFC 9562), whose first 48 bits are the time it was made in
 * milliseconds and whose other 74 are random. Every table this service writes keys an index on its
 * ids; time-ordered ids land at the right edge of those B-trees, on a few pages that stay in memory,
 * where random ones (version 4) touch a different leaf page per insert — read in, dirtied, written
 * out again, each a full-page image in the WAL after a checkpoint. docs/adr/0028-time-ordered-ids.md.
 * The random part keeps ids as unguessable as callers need: no route trusts an id alone.
 */
export const newId = (): string => v7();
