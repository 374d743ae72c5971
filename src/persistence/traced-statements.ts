import type { DatabaseConnection } from 'kysely';
import { statementSpanName } from '../observability/statement-span.js';
import { tracingActive, withSpan } from '../observability/tracing.js';

/**
 * A span per statement on the embedded database, which no OpenTelemetry instrumentation covers:
 * the same name and attributes as @opentelemetry/instrumentation-pg gives a statement on
 * PostgreSQL (db.system.name, db.query.text; never the parameters' values), and like it only
 * inside a trace (requireParentSpan). Given to Kysely's
 * PGlite dialect as its onCreateConnection; with tracing off, nothing is given.
 */
export function embeddedStatementTracing(): { onCreateConnection?: (connection: DatabaseConnection) => Promise<void> } {
  if (!tracingActive()) return {};
  return {
    onCreateConnection: async (connection) => {
      const execute = connection.executeQuery.bind(connection);
      connection.executeQuery = (query) =>
        withSpan(
          statementSpanName(query.sql, undefined),
          {
            kind: 'client',
            requireParent: true,
            attributes: { 'db.system.name': 'postgresql', 'db.query.text': query.sql },
          },
          () => execute(query),
        );
    },
  };
}
