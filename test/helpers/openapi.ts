import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Schema = Record<string, unknown>;
const isNode = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

/** One operation of the service's own OpenAPI document, its $refs resolved. */
export interface Operation {
  method: string;
  /** The OpenAPI path template, e.g. `/api/orders/{order_id}`. */
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  secured: boolean;
}

/** Every operation the document lists: a route added later is in it without anyone editing a test. */
export function operationsOf(doc: Record<string, unknown>): Operation[] {
  const deref = (v: unknown): Schema => {
    let node = v;
    for (let hops = 0; isNode(node) && typeof node.$ref === 'string' && hops < 20; hops++) {
      const ref = node.$ref as string;
      node = ref
        .replace(/^#\//, '')
        .split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((at, key) => (isNode(at) ? at[key] : undefined), doc);
    }
    return isNode(node) ? node : {};
  };
  const ops: Operation[] = [];
  const globalSecurity = Array.isArray(doc.security) && doc.security.length > 0;
  for (const [path, item] of Object.entries(deref({ $ref: '#/paths' }))) {
    const shared = (deref(item).parameters as unknown[] | undefined) ?? [];
    for (const [method, raw] of Object.entries(deref(item))) {
      if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
      const op = deref(raw);
      const parameters = [...shared, ...((op.parameters as unknown[] | undefined) ?? [])].map((p) => {
        const param = deref(p);
        return {
          name: String(param.name),
          in: param.in as Parameter['in'],
          required: param.required === true,
          schema: resolveAll(deref(param.schema ?? {}), deref),
        };
      });
      const content = deref(deref(op.requestBody).content);
      const json = content['application/json'];
      const body = json ? resolveAll(deref(deref(json).schema ?? {}), deref) : undefined;
      const security = op.security ?? (globalSecurity ? doc.security : undefined);
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters,
        body,
        secured: Array.isArray(security) && security.length > 0,
      });
    }
  }
  return ops;
}

/** A copy with every nested $ref replaced by its target (the documents here have no cycles). */
function resolveAll(schema: Schema, deref: (v: unknown) => Schema, depth = 0): Schema {
  if (depth > 40) return schema;
  const node = deref(schema);
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (Array.isArray(v)) out[k] = v.map((x) => (isNode(x) ? resolveAll(x, deref, depth + 1) : x));
    else if (isNode(v) && k !== 'examples' && k !== 'default' && k !== 'const')
      out[k] = resolveAll(v, deref, depth + 1);
    else out[k] = v;
  }
  return out;
}

const ajv = addFormats(new Ajv({ strict: false, allErrors: false }));
const fits = (schema: Schema, value: unknown): boolean => {
  try {
    return ajv.validate(schema, value) as boolean;
  } catch {
    return false;
  }
};

/**
 * Values a generic client would have to know to get past the first checks: ids of things that exist
 * (the fixture's order and product) and the usual well-formed codes. A hint is only used where the
 * schema accepts it.
 */
export type Hints = Record<string, unknown>;

const STRING_CANDIDATES = [
  'USD',
  'US',
  'sandbox',
  'pm_card_visa',
  'x',
  'abc',
  'ABC',
  'A',
  'a1',
  'sku_1',
  '1',
  'a@example.com',
];

/**
 * A value the schema accepts (as far as a generic generator can tell): every property present, the
 * first non-null branch of a union, the smallest allowed number. Being valid everywhere but in the
 * one field under attack is what lets hostile text travel past validation into the use case.
 */
export function sampleOf(schema: Schema, hints: Hints, name = ''): unknown {
  if (name in hints && fits(schema, hints[name])) return hints[name];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.find((v) => v === hints[name]) ?? schema.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      const nonNull = branches.filter(isNode).filter((b) => b.type !== 'null');
      return sampleOf(nonNull[0] ?? branches[0], hints, name);
    }
  }
  if (Array.isArray(schema.allOf)) return sampleOf(Object.assign({}, ...schema.allOf), hints, name);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const props = isNode(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(props).map(([k, s]) => [k, sampleOf(isNode(s) ? s : {}, hints, k)]));
    }
    case 'array': {
      const count = Math.max(1, Number(schema.minItems ?? 1));
      return Array.from({ length: count }, () => sampleOf(isNode(schema.items) ? schema.items : {}, hints, name));
    }
    case 'integer':
    case 'number': {
      const min =
        typeof schema.minimum === 'number'
          ? schema.minimum
          : typeof schema.exclusiveMinimum === 'number'
            ? schema.exclusiveMinimum + 1
            : 1;
      const max = typeof schema.maximum === 'number' ? schema.maximum : Number.MAX_SAFE_INTEGER;
      return Math.min(Math.max(1, Math.ceil(min)), max);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      return sampleString(schema, hints, name);
    default:
      return sampleString(schema, hints, name);
  }
}

function sampleString(schema: Schema, hints: Hints, name: string): string {
  switch (schema.format) {
    case 'uuid':
      return typeof hints[name] === 'string' ? String(hints[name]) : randomUUID();
    case 'date-time':
      return new Date().toISOString();
    case 'date':
      return new Date().toISOString().slice(0, 10);
    case 'email':
      return 'fuzz@example.com';
    case 'uri':
    case 'url':
    case 'return-url':
      return 'https://example.com/';
  }
  const found = STRING_CANDIDATES.find((c) => fits(schema, c));
  if (found !== undefined) return found;
  const min = Number(schema.minLength ?? 1);
  return 'a'.repeat(Math.max(1, min));
}

export type Pointer = (string | number)[];

/** JSON Pointers of every string in a value (the fields that carry text). */
export function stringLeaves(value: unknown, at: Pointer = []): Pointer[] {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...at, i]));
  if (isNode(value)) return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...at, k]));
  return [];
}

/** A deep copy of `value` with the leaf at `pointer` set to `replace(old)`. */
export function setAt(value: unknown, pointer: Pointer, replace: (old: unknown) => unknown): unknown {
  if (pointer.length === 0) return replace(value);
  const [head, ...rest] = pointer;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head!] = setAt(copy[head!], rest, replace);
  return copy;
}

export const pointerText = (p: Pointer) =>
  `/${p.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
