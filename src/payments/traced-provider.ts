import { tracingActive, withSpan } from '../observability/tracing.js';
import type { PaymentProvider } from './provider.js';

/** The calls that go to the provider (all async); anything else a provider has passes through. */
const CALLS = new Set<string>([
  'charge',
  'capture',
  'void',
  'refund',
  'retrieve',
  'refunds',
  'disputes',
  'completeAction',
  'cancelAction',
  'cancelUnanswered',
] satisfies (keyof PaymentProvider)[]);

/**
 * Each call to a provider in a client span named for the provider and the operation
 * (`stripe charge`), around the HTTP spans of its SDK. Only our own transaction id goes in an
 * attribute: never the payment source (a card token) nor anything the provider answered. With
 * tracing off the provider is returned as it is.
 */
export function traceProvider(provider: PaymentProvider): PaymentProvider {
  if (!tracingActive()) return provider;
  return new Proxy(provider, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || !CALLS.has(prop)) return value;
      const call = value as (this: PaymentProvider, ...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const input = args[0] as { transactionId?: unknown } | undefined;
        const attributes = {
          'peer.service': target.id,
          'payment.provider': target.id,
          'payment.operation': prop,
          'payment.transaction_id': typeof input?.transactionId === 'string' ? input.transactionId : undefined,
        };
        return withSpan(`${target.id} ${prop}`, { kind: 'client', attributes }, async () => call.apply(target, args));
      };
    },
  });
}
