import { authenticateSandboxAction } from '../payments/sandbox.js';
import { findTransaction } from '../persistence/transaction-repository.js';
import type { Deps } from './deps.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

/**
 * The customer's answer on the sandbox's 3-D Secure page: the sandbox records it as a provider
 * would, then tells the service as a provider's webhook would, through the same step as every other
 * road. Returns the URL the customer goes back to, or undefined when nothing waits under that id.
 */
export async function answerSandboxChallenge(
  deps: Deps,
  transactionId: string,
  outcome: 'complete' | 'fail',
): Promise<string | undefined> {
  const returnUrl = authenticateSandboxAction(transactionId, outcome);
  if (!returnUrl) return undefined;
  const t = await findTransaction(deps.db, transactionId);
  if (t) {
    // As a lost webhook would, a failure here leaves the order to the customer's return and the reconciler.
    await settleAwaitingPayment(deps, t.order_id, { kind: 'webhook' }).catch((err: unknown) =>
      deps.logger.warn({ err, transactionId }, 'the sandbox could not tell the service; the reconciler will'),
    );
  }
  return returnUrl;
}
