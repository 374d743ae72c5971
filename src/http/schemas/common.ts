import { Type, type TSchema } from 'typebox';

/** Shared building blocks of the contract's schemas. */
export const Uuid = Type.String({ format: 'uuid' });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case' });
export const MinorUnits = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: "Integer amount in the currency's minor unit",
});
export const ProductId = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', minLength: 1, maxLength: 64 });
export const Timestamp = Type.String({ format: 'date-time' });
/** What the service takes for an email address: a body's `email`, and the token's `email` claim. */
export const EmailAddress = Type.String({ format: 'email', maxLength: 254 });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    decline_code: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/**
 * No length cap here: a cursor the service did not issue, however long, is the contract's
 * `422 invalid_cursor`, decided by the decoder (which refuses anything over its own limit first).
 */
export const Cursor = Type.String({ minLength: 1 });

/** A page's size in a query string: what a client reads here is what the validator does (strict-query-numbers.ts). */
export const PageLimit = Type.Integer({
  minimum: 1,
  maximum: 100,
  default: 20,
  description: 'Decimal digits only: `0x10`, `1e1`, `16.0` or ` 16` are `422 validation_error`, never read as 16.',
});

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

/** The problem responses a route can return, for the OpenAPI document. */
export function problems(...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((s) => [s, Problem]));
}
