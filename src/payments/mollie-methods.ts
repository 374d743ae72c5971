/**
 * The Mollie methods a payment may name (`payment.source`), as `@mollie/api-client` 4.6's
 * `PaymentMethod` lists them without its deprecated ones (test/payments/mollie.test.ts keeps the two
 * in step). Kept here, apart from the SDK, so validating a request does not load it.
 */
export const MOLLIE_METHODS = [
  'alma',
  'applepay',
  'bacs',
  'bancomatpay',
  'bancontact',
  'banktransfer',
  'belfius',
  'billie',
  'bizum',
  'blik',
  'creditcard',
  'directdebit',
  'eps',
  'giftcard',
  'googlepay',
  'ideal',
  'in3',
  'kbc',
  'klarna',
  'mbway',
  'mobilepay',
  'multibanco',
  'mybank',
  'paybybank',
  'paypal',
  'paysafecard',
  'pointofsale',
  'przelewy24',
  'riverty',
  'satispay',
  'swish',
  'trustly',
  'twint',
  'vipps',
  'voucher',
] as const;

export const isMollieMethod = (value: string): boolean => (MOLLIE_METHODS as readonly string[]).includes(value);
