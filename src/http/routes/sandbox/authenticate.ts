import formbody from '@fastify/formbody';
import { Type } from 'typebox';
import { answerSandboxChallenge } from '../../../application/answer-sandbox-challenge.js';
import { DomainError } from '../../../domain/errors.js';
import { formatMoney } from '../../../domain/money.js';
import { escapeHtml } from '../../../notifications/templates/parts.js';
import { sandboxActionPage } from '../../../payments/sandbox.js';
import { problems } from '../../schemas/common.js';
import type { App, RouteOptions } from '../../types.js';

const Params = Type.Object({ transaction_id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });
const Outcome = Type.Object(
  { outcome: Type.Union([Type.Literal('complete'), Type.Literal('fail')]) },
  { additionalProperties: false },
);

const notFound = () => new DomainError('not_found', 'There is no payment waiting for its customer here.');

/**
 * The sandbox's 3-D Secure page (`pm_card_threeDSecureRequired`): no token, the transaction id is
 * the secret, as a provider's hosted page is. *Complete* or *Fail* answers 303 to the order's return
 * URL, and the sandbox then tells the service, as a provider's webhook would — through the same
 * step as every other road (settle-awaiting-payment.ts).
 */
export default async function sandboxAuthenticateRoutes(app: App, { deps }: RouteOptions) {
  await app.register(formbody);

  app.get(
    '/sandbox/authenticate/:transaction_id',
    {
      schema: {
        // The sandbox's stand-in for a provider's hosted page: no operation of this API's clients.
        hide: true,
        tags: ['sandbox'],
        summary: 'The sandbox’s 3-D Secure page (HTML)',
        params: Params,
        response: { 200: Type.String(), ...problems(404, 429) },
      },
    },
    async (request, reply) => {
      const waiting = sandboxActionPage(request.params.transaction_id);
      if (!waiting) throw notFound();
      const returnOrigin = new URL(waiting.returnUrl).origin;
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header(
          'content-security-policy',
          // The form posts here and the answer sends the browser on to the return URL: both are form targets.
          `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${returnOrigin}; frame-ancestors 'none'; base-uri 'none'`,
        )
        .send(page(request.params.transaction_id, waiting.amount, waiting.currency));
    },
  );

  app.post(
    '/sandbox/authenticate/:transaction_id',
    {
      schema: {
        // The sandbox's stand-in for a provider's hosted page: no operation of this API's clients.
        hide: true,
        tags: ['sandbox'],
        summary: 'The customer completes or fails 3-D Secure: 303 to the return URL',
        params: Params,
        body: Outcome,
        response: { ...problems(404, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const returnUrl = await answerSandboxChallenge(deps, request.params.transaction_id, request.body.outcome);
      if (!returnUrl) throw notFound();
      return reply.redirect(returnUrl, 303);
    },
  );
}

function page(transactionId: string, amount: number, currency: string): string {
  const action = `/sandbox/authenticate/${encodeURIComponent(transactionId)}`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sandbox 3-D Secure</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}</style></head>
<body>
<h1>Sandbox 3-D Secure</h1>
<p>Authenticate the payment of <strong>${escapeHtml(formatMoney(amount, currency))}</strong>.</p>
<p>This page stands in for a bank's 3-D Secure challenge; no money moves in the sandbox.</p>
<form method="post" action="${escapeHtml(action)}">
<button type="submit" name="outcome" value="complete">Complete</button>
<button type="submit" name="outcome" value="fail">Fail</button>
</form>
</body>
</html>
`;
}
