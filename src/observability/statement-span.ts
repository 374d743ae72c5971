/**
 * A database statement's span name, as @opentelemetry/instrumentation-pg names an unnamed one
 * (`pg.query:SELECT orders`): the statement's first word, upper case, then the database. Shared by
 * the pg instrumentation's hook and the embedded database's spans, so both read the same.
 */
export function statementSpanName(sql: string, database: string | undefined): string {
  const text = sql.trimStart();
  const space = text.search(/\s/);
  const operation = (space === -1 ? text : text.slice(0, space)).replace(/;$/, '').toUpperCase();
  return `pg.query:${operation}${database ? ` ${database}` : ''}`;
}
