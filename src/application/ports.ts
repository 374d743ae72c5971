import type { Kysely } from 'kysely';
import type { CaptureMode } from '../domain/payment.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { PaymentProcessor } from '../payments/processor.js';
import type { Database } from '../persistence/tables.js';

/** The caller of a use case, as the auth plugin established it. */
export interface Actor {
  sub: string;
  email: string | null;
  isAdmin: boolean;
}

type Logger = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** Fault-injection points for crash tests; never set in production. */
export interface Faults {
  /** After the reservation committed, before the provider is asked (a request that lost the database there). */
  beforeCharge?: () => void | Promise<void>;
  afterCharge?: () => void;
  /** After the provider captured or voided, before the ledger says so. */
  afterCapture?: () => void;
}

/** Everything a use case may touch, built once in app.ts and passed in. */
export interface Deps {
  db: Kysely<Database>;
  payments: PaymentProcessor;
  clock: () => Date;
  logger: Logger;
  metrics: Metrics;
  faults?: Faults;
  /** How long a `processing` charge is left to its request before the reconciler looks at it. */
  reconcileAfterMs: number;
  /** How many days after delivery a return may be asked for (RETURN_WINDOW_DAYS). */
  returnWindowDays: number;
  /** PAYMENT_CAPTURE: capture at creation (`immediate`) or authorize then capture at shipment. */
  capture: CaptureMode;
  /** How long before an authorization lapses its order's history is warned. */
  authorizationWarnHours: number;
  /** PAYMENT_ACTION_TIMEOUT_SECONDS: how long an order waits for its customer to complete its payment. */
  actionTimeoutMs: number;
}
