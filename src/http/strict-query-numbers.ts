import type { ValidateFunction } from 'ajv';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

/** 'integer', 'number' or null: what a query/path member's schema (or one of its alternatives) asks for. */
function numericKind(schema: unknown): 'integer' | 'number' | null {
  if (!isNode(schema)) return null;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('string')) return null; // text is allowed as it is
  if (types.includes('number')) return 'number';
  if (types.includes('integer')) return 'integer';
  if (isNode(schema.items)) return numericKind(schema.items); // ?id=1&id=2 with coerceTypes: 'array'
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alternatives = schema[key];
    if (Array.isArray(alternatives)) {
      if (
        alternatives.some(
          (a) => isNode(a) && (a.type === 'string' || (Array.isArray(a.type) && a.type.includes('string'))),
        )
      )
        return null;
      const kinds = alternatives.map(numericKind);
      if (kinds.includes('number')) return 'number';
      if (kinds.includes('integer')) return 'integer';
    }
  }
  return null;
}

interface StrictError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

/**
 * Ajv coerces query and path text with `Number(text)`, which also reads `0x10`, `1e1`, ` 16` and
 * `16.0` as 16. A number in a URL is written in decimal digits (an optional `-`, and for
 * non-integers one `.` with digits after it): this wrapper checks the raw text of every numeric
 * member against that before Ajv coerces it, and answers as Ajv would (one error per member).
 */
export function strictNumbers(schema: unknown, validate: ValidateFunction): ValidateFunction {
  const members = isNode(schema) && isNode(schema.properties) ? Object.entries(schema.properties) : [];
  const numeric = members.flatMap(([name, s]) => {
    const kind = numericKind(s);
    return kind ? [[name, kind] as const] : [];
  });
  if (numeric.length === 0) return validate;
  const wrapped = ((data: unknown, cxt?: unknown) => {
    const errors: StrictError[] = [];
    if (isNode(data)) {
      for (const [name, kind] of numeric) {
        const raw = data[name];
        const texts = Array.isArray(raw) ? raw : [raw];
        const bad = texts.some((t) => typeof t === 'string' && !(kind === 'integer' ? INTEGER : NUMBER).test(t));
        if (bad) {
          errors.push({
            instancePath: `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            schemaPath: `#/properties/${name}/type`,
            keyword: 'type',
            params: { type: kind },
            message:
              kind === 'integer'
                ? 'must be an integer written in decimal digits'
                : 'must be a number written in decimal digits',
          });
        }
      }
    }
    if (errors.length > 0) {
      wrapped.errors = errors as never;
      return false;
    }
    const ok = (validate as (d: unknown, c?: unknown) => boolean)(data, cxt);
    wrapped.errors = validate.errors;
    return ok;
  }) as ValidateFunction;
  // Fastify passes the parent (so Ajv may replace the root value) only to functions that have one.
  Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv });
  return wrapped;
}
