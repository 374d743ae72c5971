import { hmacValidator, type Types } from '@adyen/api-library';
import { InvalidSignatureError, parseObject, pick, text } from './types.js';

/**
 * Adyen's standard notifications: a JSON batch `{live, notificationItems: [{NotificationRequestItem}]}`
 * with no signature header; each item carries its own HMAC-SHA256 (`additionalData.hmacSignature`,
 * over pspReference, originalReference, merchantAccountCode, merchantReference, amount value and
 * currency, eventCode and success), keyed with ADYEN_HMAC_KEY. The library's HmacValidator checks
 * it (its comparison is constant-time). One forged item refuses the whole batch: Adyen delivers it
 * again, and nothing in it was acted on.
 */
export interface AdyenNotification {
  eventCode: string;
  success: boolean;
  pspReference: string;
  originalReference: string | null;
  merchantReference: string;
  amount: { value: number; currency: string };
  reason: string;
}

export function verifyAdyenNotifications(rawBody: Buffer | string, hmacKey: string): AdyenNotification[] {
  const batch = parseObject(text(rawBody));
  const items = pick(batch, 'notificationItems');
  if (!Array.isArray(items) || items.length === 0) throw new InvalidSignatureError('adyen: no notificationItems');
  const validator = new hmacValidator();
  return items.map((wrapper: unknown, i) => {
    const item = pick(wrapper, 'NotificationRequestItem') as Types.notification.NotificationRequestItem | undefined;
    if (!item || typeof item !== 'object' || !wellFormed(item))
      throw new InvalidSignatureError(`adyen: item ${i} is not a NotificationRequestItem`);
    let valid = false;
    try {
      valid = validator.validateHMAC(item, hmacKey);
    } catch {
      valid = false; // no hmacSignature, or one that is not base64
    }
    if (!valid)
      throw new InvalidSignatureError(
        `adyen: item ${i} (${item.eventCode} ${item.pspReference}) has no valid hmacSignature`,
      );
    return {
      eventCode: item.eventCode,
      success: item.success === 'true',
      pspReference: item.pspReference,
      originalReference: item.originalReference || null,
      merchantReference: item.merchantReference,
      amount: { value: Number(item.amount.value), currency: String(item.amount.currency) },
      reason: item.reason ?? '',
    };
  });
}

function wellFormed(item: Types.notification.NotificationRequestItem): boolean {
  const amount = item.amount as { value?: unknown; currency?: unknown } | undefined;
  return (
    typeof item.eventCode === 'string' &&
    typeof item.pspReference === 'string' &&
    typeof item.merchantReference === 'string' &&
    typeof item.merchantAccountCode === 'string' &&
    (item.success === 'true' || item.success === 'false') &&
    typeof amount?.value === 'number' &&
    Number.isSafeInteger(amount.value) &&
    typeof amount.currency === 'string'
  );
}
