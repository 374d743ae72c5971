import { traceLogFields } from './tracing.js';

/**
 * The logging the relay and its transports need: pino's `(object, message)`
 * shape, so the app passes its Fastify/pino logger unchanged.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity } as const;

/**
 * For `npm run relay`, which has no Fastify instance: JSON lines on stdout in
 * pino's format (level number, time, msg), so one log pipeline reads both
 * processes. pino itself is only a transitive dependency, hence not imported.
 */
export function createJsonLogger(level: string, base: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS[level as keyof typeof LEVELS] ?? LEVELS.info;
  const write = (lvl: number, obj: object, msg?: string): void => {
    if (lvl < threshold) return;
    const fields = obj instanceof Error ? { err: serializeError(obj) } : serializeFields(obj);
    // As pino's OpenTelemetry instrumentation does for the server's logger: the line joins its trace.
    process.stdout.write(
      JSON.stringify({ level: lvl, time: Date.now(), ...base, ...traceLogFields(), ...fields, msg }) + '\n',
    );
  };
  return {
    debug: (o, m) => write(LEVELS.debug, o, m),
    info: (o, m) => write(LEVELS.info, o, m),
    warn: (o, m) => write(LEVELS.warn, o, m),
    error: (o, m) => write(LEVELS.error, o, m),
  };
}

function serializeFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? serializeError(v) : v;
  return out;
}

function serializeError(e: Error): Record<string, unknown> {
  return { type: e.name, message: e.message, stack: e.stack };
}
