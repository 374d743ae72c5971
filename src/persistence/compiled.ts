import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type QueryResult,
  type RawBuilder,
} from 'kysely';
import type { Database, Db } from './tables.js';

/**
 * Hot queries are built and compiled once and then run with each call's values: building and
 * compiling a Kysely query on every request was about a tenth of the CPU of reading an order
 * (bench/, docs/adr/0009). Compiling needs no connection, and PGlite compiles PostgreSQL's SQL too.
 */
const cold = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const MARK = '\u0000bind:';

export type Runner<R> = (db: Db, values: Record<string, unknown>) => Promise<QueryResult<R>>;

const isRaw = <R>(q: Compilable<R> | RawBuilder<R>): q is RawBuilder<R> => (q as RawBuilder<R>).isRawBuilder === true;

/** A value slot of a query built by `compileOnce`, filled in by name when the query runs. */
export const slot = (name: string): string => MARK + name;

/**
 * `compileOnce((db) => db.selectFrom('t').selectAll().where('id', '=', slot('id')))` returns a
 * runner: `run(dbOrTrx, { id })` executes the same SQL with that value.
 */
export function compileOnce<R>(build: (db: Kysely<Database>) => Compilable<R> | RawBuilder<R>): Runner<R> {
  const query = build(cold);
  const compiled = isRaw(query) ? query.compile(cold) : query.compile();
  const names = compiled.parameters.map((v) =>
    typeof v === 'string' && v.startsWith(MARK) ? v.slice(MARK.length) : null,
  );
  return (db, values) =>
    db.executeQuery<R>({
      ...compiled,
      parameters: compiled.parameters.map((v, i) => {
        const name = names[i];
        if (name === null || name === undefined) return v;
        if (!(name in values)) throw new Error(`no value for ${name}`);
        return values[name];
      }),
    });
}

/**
 * `compileOnce` for statements whose text depends on a small, bounded shape (how many items, whether
 * there is an Idempotency-Key): each shape is built and compiled the first time it is needed.
 */
export function compileByShape<S extends string, R>(
  build: (db: Kysely<Database>, shape: S) => Compilable<R> | RawBuilder<R>,
): (shape: S) => Runner<R> {
  const runners = new Map<S, Runner<R>>();
  return (shape) => {
    let run = runners.get(shape);
    if (!run) {
      run = compileOnce((db) => build(db, shape));
      runners.set(shape, run);
    }
    return run;
  };
}
