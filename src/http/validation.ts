import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { isReturnUrl } from './return-url.js';
import { addStorableTextKeyword, withStorableText } from './storable-text.js';
import { strictNumbers } from './strict-query-numbers.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const base: Options = { useDefaults: true, removeAdditional: false, allErrors: true, strict: false };

const ajvWith = (options: Options) =>
  addStorableTextKeyword(addFormats(new Ajv({ ...base, ...options }))).addFormat('return-url', isReturnUrl);

/**
 * Bodies are JSON and typed: nothing is coerced ("2" is not 2) and unknown
 * fields are errors. Query strings and path params are text by nature, so
 * only they are coerced to the declared types — from decimal digits only.
 *
 * Every schema of every route, whoever wrote it, is compiled with the
 * storable-text check on every string it holds (see storable-text.ts): text
 * PostgreSQL cannot store is a 422 naming its field, never a 500 from the
 * database halfway through a use case.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = ajvWith({ coerceTypes: false });
  const coercing = ajvWith({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    const checked = withStorableText(schema) as object;
    if (httpPart === 'body') return strict.compile(checked) as never;
    return strictNumbers(schema, coercing.compile(checked)) as never;
  };
}

/** A check with the same rules as a body schema, for values that do not arrive in a request part (token claims). */
export function compileCheck(schema: object): (value: unknown) => boolean {
  const validate = ajvWith({ coerceTypes: false }).compile(withStorableText(schema) as object);
  return (value) => validate(value) as boolean;
}
