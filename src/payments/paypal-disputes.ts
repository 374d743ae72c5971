import type { Client } from '@paypal/paypal-server-sdk';
import { fromMajorString } from '../domain/money.js';
import { paypalCall } from './paypal-errors.js';
import { PaymentProviderError, type ProviderDispute } from './provider.js';

/**
 * PayPal's Customer Disputes API (v1/customer/disputes), which the server SDK
 * has no controller for: called through the SDK client's own request builder,
 * so it shares its OAuth token, timeout, retries and PAYPAL_API_BASE agent.
 *
 * The list is filtered by `disputed_transaction_id` (the capture id) and gives
 * each dispute's status; a RESOLVED one says who won only in its details
 * (`dispute_outcome.outcome_code`), so those are read one by one.
 */
interface DisputeJson {
  dispute_id?: string;
  status?: string;
  dispute_amount?: { currency_code?: string; value?: string };
  dispute_outcome?: { outcome_code?: string };
}

/** Outcomes in which the merchant keeps the money. */
const SELLER_KEEPS = new Set(['RESOLVED_SELLER_FAVOUR', 'CANCELED_BY_BUYER', 'DENIED', 'NONE']);

export async function listDisputes(client: Client, captureId: string): Promise<ProviderDispute[]> {
  const list = await getJson<{ items?: DisputeJson[] }>(client, '/v1/customer/disputes', {
    disputed_transaction_id: captureId,
    page_size: '50',
  });
  const found: ProviderDispute[] = [];
  for (const item of list.items ?? []) {
    if (!item.dispute_id) continue;
    const dispute =
      item.status === 'RESOLVED'
        ? await getJson<DisputeJson>(client, `/v1/customer/disputes/${encodeURIComponent(item.dispute_id)}`)
        : item;
    const money = dispute.dispute_amount ?? item.dispute_amount;
    const currency = money?.currency_code ?? '';
    found.push({
      reference: item.dispute_id,
      amount: money?.value && currency ? fromMajorString(money.value, currency) : 0,
      currency,
      status: statusOf(dispute),
    });
  }
  return found;
}

function statusOf(dispute: DisputeJson): ProviderDispute['status'] {
  if (dispute.status !== 'RESOLVED') return 'open';
  return SELLER_KEEPS.has(dispute.dispute_outcome?.outcome_code ?? 'NONE') ? 'won' : 'lost';
}

async function getJson<T>(client: Client, path: string, query: Record<string, string> = {}): Promise<T> {
  const text = await paypalCall(client, async () => {
    const rb = client.getRequestBuilderFactory()('GET', path);
    for (const [name, value] of Object.entries(query)) rb.query(name, value);
    rb.authenticate([{ oauth2: true }]);
    return (await rb.callAsText()).result;
  });
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new PaymentProviderError(`paypal: ${path} answered something other than JSON`);
  }
}
