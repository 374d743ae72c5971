import { Type, type Static } from 'typebox';
import { ORDER_STATUSES, TRACKING_STATUSES } from '../../domain/order-status.js';
import { LEDGER_KINDS, LEDGER_STATUSES, PAYMENT_STATUSES, PROVIDERS } from '../../domain/payment.js';
import { Currency, Cursor, EmailAddress, MinorUnits, Page, PageLimit, ProductId, Timestamp, Uuid } from './common.js';

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Amount = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
/** Adyen's web components' `paymentMethod` (`{"type": "scheme", "encryptedCardNumber": "…", …}`): Adyen validates the rest. */
const AdyenPaymentMethod = Type.Object({ type: Text(100) }, { additionalProperties: true, maxProperties: 50 });
const NullableText = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);

const ShippingAddress = Type.Object(
  {
    name: Text(200),
    line1: Text(200),
    line2: Type.Optional(NullableText(200)),
    city: Text(100),
    state: Type.Optional(NullableText(100)),
    postal_code: Text(20),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  },
  { additionalProperties: false },
);

const Tracking = Type.Object({ carrier: Text(100), number: Text(100) }, { additionalProperties: false });

export const CreateOrderBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          product_id: ProductId,
          quantity: Type.Integer({
            minimum: 1,
            maximum: 1000,
            description: '`2.0` is the integer 2; `1.5` is refused',
          }),
          unit_price: Type.Optional(MinorUnits),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    currency: Currency,
    payment: Type.Object(
      {
        provider: Type.Enum(PROVIDERS),
        source: Type.Optional(
          Type.Union([Text(500), AdyenPaymentMethod], {
            description:
              "The provider's token; for `adyen`, the `paymentMethod` object Adyen's web components give, passed on unchanged. Optional for PayPal (the " +
              'service then creates the PayPal order and the buyer approves it; `return_url` needed) and Mollie.',
          }),
        ),
        return_url: Type.Optional(
          Type.String({
            format: 'return-url',
            maxLength: 2048,
            description:
              'Where the provider sends the customer back after completing the payment (3-D Secure, a redirect, an approval): an absolute `https://` URL ' +
              '(`http://` only on a loopback host). With it, a payment that needs the customer answers `awaiting_payment` with `payment.next_action`.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    email: Type.Optional(
      Type.Union([EmailAddress, Type.Null()], {
        description:
          "Where confirmations go. Absent: the token's `email` claim, when it is an email address; a claim that is not one is ignored and the order has no email.",
      }),
    ),
    shipping_address: Type.Optional(Type.Union([ShippingAddress, Type.Null()])),
  },
  { additionalProperties: false },
);
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const Order = Type.Object({
  id: Uuid,
  user_id: Type.String(),
  status: Type.Enum(ORDER_STATUSES),
  currency: Currency,
  items: Type.Array(
    Type.Object({
      product_id: ProductId,
      name: Type.String(),
      quantity: Type.Integer(),
      unit_price: MinorUnits,
      line_total: MinorUnits,
      quantity_cancelled: Type.Integer({ minimum: 0 }),
      quantity_returned: Type.Integer({ minimum: 0 }),
    }),
  ),
  total: MinorUnits,
  current_total: Amount(
    'Σ unit_price × (quantity − quantity_cancelled − quantity_returned): what the order still owes',
  ),
  payment: Type.Object({
    transaction_id: Uuid,
    provider: Type.Enum(PROVIDERS),
    provider_reference: Type.Union([Type.String(), Type.Null()]),
    status: Type.Enum(PAYMENT_STATUSES, {
      description: 'Derived from the payment ledger (GET /api/orders/{id}/payments)',
    }),
    amount: MinorUnits,
    currency: Currency,
    amount_authorized: MinorUnits,
    amount_captured: MinorUnits,
    amount_refunded: Amount('Succeeded refunds'),
    authorization_expires_at: Type.Union([Timestamp, Type.Null()], {
      description: 'Null unless authorized and not yet captured',
    }),
    next_action: Type.Union(
      [
        Type.Object({
          type: Type.Literal('redirect'),
          url: Type.Union([Type.String(), Type.Null()]),
          expires_at: Timestamp,
          client_secret: Type.Union([Type.String(), Type.Null()]),
          provider_data: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
        }),
        Type.Null(),
      ],
      { description: 'What the customer must do while `status` is `requires_action`; null otherwise' },
    ),
  }),
  email: Type.Union([Type.String(), Type.Null()]),
  shipping_address: Type.Union([
    Type.Object({
      name: Type.String(),
      line1: Type.String(),
      line2: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      city: Type.String(),
      state: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      postal_code: Type.String(),
      country: Type.String(),
    }),
    Type.Null(),
  ]),
  tracking: Type.Union([Type.Object({ carrier: Type.String(), number: Type.String() }), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

/** Order ids are validated by the route, not the schema: a non-UUID is a 404, not a 422. */
export const OrderParams = Type.Object({ order_id: Type.String({ maxLength: 100 }) }, { additionalProperties: false });

export const OrderPage = Page(Order);
export const OrderListQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
    status: Type.Optional(Type.Enum(ORDER_STATUSES)),
  },
  { additionalProperties: false },
);

export const CancelBody = Type.Union([
  Type.Object(
    {
      reason: Type.Optional(Type.String({ maxLength: 500 })),
      items: Type.Optional(
        Type.Array(
          Type.Object(
            { product_id: ProductId, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) },
            { additionalProperties: false },
          ),
          {
            minItems: 1,
            maxItems: 100,
            description:
              'Cancel only these units (each product at most once, at most the units not yet cancelled); without it, the whole order',
          },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

export const CancelResponse = Type.Object({ message: Type.String(), order: Order });

export const StatusBody = Type.Object(
  {
    status: Type.Enum(TRACKING_STATUSES),
    tracking: Type.Optional(Type.Union([Tracking, Type.Null()])),
    note: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type StatusBody = Static<typeof StatusBody>;

export const History = Type.Object({
  items: Type.Array(
    Type.Object({
      status: Type.Enum(ORDER_STATUSES),
      at: Timestamp,
      actor: Type.String(),
      note: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export const LedgerEntry = Type.Object({
  id: Type.String({ format: 'uuid', description: "The movement's id, also the provider's idempotency key" }),
  kind: Type.Enum(LEDGER_KINDS),
  amount: MinorUnits,
  currency: Currency,
  status: Type.Enum(LEDGER_STATUSES, {
    description: '`pending` | `succeeded` | `failed`; a dispute: `open` | `won` | `lost`',
  }),
  provider_reference: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  actor: Type.String({ description: 'The `sub` that caused it, `system`, or `provider:<id>`' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const Ledger = Type.Object({ items: Type.Array(LedgerEntry) });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' })),
});
