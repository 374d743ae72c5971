import { Type } from 'typebox';
import { handleAdyenNotification, type NotificationOutcome } from '../../../application/adyen-notification.js';
import { DomainError } from '../../../domain/errors.js';
import { verifyAdyenNotifications, type AdyenNotification } from '../../../payments/webhooks/adyen.js';
import { InvalidSignatureError } from '../../../payments/webhooks/types.js';
import { problems } from '../../schemas/common.js';
import type { App, RouteOptions } from '../../types.js';

/**
 * POST /api/webhooks/adyen: Adyen's standard notifications, a batch of items each signed with
 * ADYEN_HMAC_KEY. Every item is verified before any is acted on (one forged item: 400
 * invalid_signature, and Adyen delivers the batch again); then each is applied in order, and the
 * answer is the `[accepted]` Adyen waits for — anything else and it delivers again.
 */
export default async function adyenWebhookRoute(app: App, opts: RouteOptions & { hmacKey: string }) {
  app.post(
    '/webhooks/adyen',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'receiveAdyenNotifications',
        // Each item's HMAC is the authentication, not a bearer token.
        security: [],
        summary: "Adyen's notifications (each item's HMAC verified, deduplicated by pspReference and eventCode)",
        response: { 200: Type.String({ description: 'the text `[accepted]`' }), ...problems(400, 413, 503) },
      },
    },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let items: AdyenNotification[];
      try {
        items = verifyAdyenNotifications(raw, opts.hmacKey);
      } catch (err) {
        if (!(err instanceof InvalidSignatureError)) throw err;
        request.log.warn({ err }, 'adyen notification rejected');
        throw new DomainError('invalid_signature', 'The notification signature does not verify.');
      }
      const outcomes: NotificationOutcome[] = [];
      for (const item of items) outcomes.push(await handleAdyenNotification(opts.deps, item));
      request.log.info(
        { items: items.map((n, i) => `${n.eventCode} ${n.pspReference}: ${outcomes[i]}`) },
        'adyen notifications',
      );
      return reply.type('text/plain; charset=utf-8').send('[accepted]');
    },
  );
}
