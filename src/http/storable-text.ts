import type { Ajv } from 'ajv';

// Without the `u` flag a regex sees UTF-16 code units: a NUL, a high surrogate not followed by a low
// one, or a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text PostgreSQL can store: no NUL (`text` and `jsonb` refuse U+0000, "invalid byte sequence for
 * encoding UTF8: 0x00" / "unsupported Unicode escape sequence") and no unpaired UTF-16 surrogate (a
 * JSON escape such as "\ud800" parses to one; it has no UTF-8 encoding, so the driver would send
 * U+FFFD or the server would refuse it). Everything else — RTL marks, combining marks, emoji — is text.
 */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

const STORABLE_TEXT = 'x-storable-text';
const MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/** Registers the keyword on an Ajv instance: it applies to string data only, anything else passes. */
export function addStorableTextKeyword(ajv: Ajv): Ajv {
  return ajv.addKeyword({
    keyword: STORABLE_TEXT,
    type: 'string',
    schemaType: 'boolean',
    errors: false,
    error: { message: MESSAGE },
    validate: (enabled: boolean, data: string) => !enabled || isStorableText(data),
  });
}

// Keywords whose value is one subschema, a list of them, or a map of name → subschema
// (JSON Schema 2020-12 core and validation vocabularies, plus draft-07's spellings).
const ONE = [
  'additionalProperties',
  'additionalItems',
  'items',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
];
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of a request schema in which every subschema carries the storable-text keyword, so every
 * string anywhere in a body, query, path or header is checked — whatever route declared it, and
 * whether or not it says `type: 'string'` (an untyped or `unknown` subschema can hold a string too).
 * Objects that accept arbitrary member names get the check on their names as well. The route's own
 * schema object is left alone: it is also the OpenAPI document, which does not need to show this.
 */
export function withStorableText(schema: unknown): unknown {
  if (!isNode(schema)) return schema; // boolean schemas
  const out: Node = { ...schema, [STORABLE_TEXT]: true };
  for (const key of ONE) {
    if (isNode(out[key])) out[key] = withStorableText(out[key]);
  }
  for (const key of LIST) {
    const v = out[key];
    if (Array.isArray(v)) out[key] = v.map(withStorableText);
  }
  for (const key of MAP) {
    const v = out[key];
    if (isNode(v)) out[key] = Object.fromEntries(Object.entries(v).map(([k, s]) => [k, withStorableText(s)]));
  }
  const closed = out.additionalProperties === false && !isNode(out.patternProperties);
  const mayBeObject =
    out.type === undefined || out.type === 'object' || (Array.isArray(out.type) && out.type.includes('object'));
  if (mayBeObject && !closed && out.propertyNames === undefined) out.propertyNames = { [STORABLE_TEXT]: true };
  return out;
}
