export const PROVIDERS = ['stripe', 'paypal', 'square', 'sandbox'] as const;
export type ProviderId = (typeof PROVIDERS)[number];

export const TRANSACTION_STATUSES = ['processing', 'succeeded', 'failed', 'refund_pending', 'refunded'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];
