import type { Kysely } from 'kysely';
import type { ReconcilerTimings } from '../config.js';
import type { CaptureMode } from '../domain/payment.js';
import type { Metrics } from '../observability/metrics.js';
import type { PaymentProcessor } from '../payments/processor.js';
import type { Database } from '../persistence/tables.js';

/** The caller of a use case, as the auth plugin established it. */
export interface Actor {
  sub: string;
  email: string | null;
  isAdmin: boolean;
}

/** A structured log line: its fields, then its message (pino's form, which the app's logger is). */
type LogFn = (fields: object, message: string) => void;

/** The log levels a use case writes at. */
interface Logger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
}

/** Fault-injection points for crash tests; never set in production. */
export interface Faults {
  /** After the reservation committed, before the provider is asked (a request that lost the database there). */
  beforeCharge?: () => void | Promise<void>;
  /** After the provider answered the charge (taken, or waiting for its customer), before it is recorded. */
  afterCharge?: () => void;
  /** After the provider captured or voided, before the ledger says so. */
  afterCapture?: () => void;
  /** After the provider said a payment that waited for its customer completed (PayPal: captured), before the order is placed. */
  afterActionCompleted?: () => void;
}

/**
 * Everything a use case may touch, built once in app.ts and passed in. Not ports in the hexagonal
 * sense, on purpose (docs/adr/0022): the repositories are functions that take this Kysely handle or
 * an open transaction first, so that one use case composes several in one transaction; the payment
 * providers are behind their own interface (payments/provider.ts); the clock is a function.
 */
export interface Deps {
  db: Kysely<Database>;
  payments: PaymentProcessor;
  clock: () => Date;
  logger: Logger;
  metrics: Metrics;
  faults?: Faults;
  /** How long a `processing` charge is left to its request before the reconciler looks at it. */
  reconcileAfterMs: number;
  /** The reconciler's lease, graces and backoff cap (RECONCILE_*). */
  reconciler: ReconcilerTimings;
  /** How many days after delivery a return may be asked for (RETURN_WINDOW_DAYS). */
  returnWindowDays: number;
  /** PAYMENT_CAPTURE: capture at creation (`immediate`) or authorize then capture at shipment. */
  capture: CaptureMode;
  /** How long before an authorization lapses its order's history is warned. */
  authorizationWarnHours: number;
  /** PAYMENT_ACTION_TIMEOUT_SECONDS: how long an order waits for its customer to complete its payment. */
  actionTimeoutMs: number;
}
