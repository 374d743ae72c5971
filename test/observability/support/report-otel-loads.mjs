// Preloaded (`node --import`) by the test that proves tracing off loads no OpenTelemetry module: every
// module resolved from one of these packages, imported or required, is reported on stderr.
import { registerHooks } from 'node:module';

const OTEL = /[\\/]node_modules[\\/](@opentelemetry|@fastify[\\/]otel|import-in-the-middle|require-in-the-middle)[\\/]/;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (OTEL.test(resolved.url))
      process.stderr.write(`opentelemetry module loaded: ${resolved.url} from ${context.parentURL}\n`);
    return resolved;
  },
});
