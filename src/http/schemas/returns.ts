import { Type, type Static } from 'typebox';
import { RETURN_STATUSES } from '../../domain/returns.js';
import { MinorUnits, ProductId, Timestamp, Uuid } from './common.js';

const Note = Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()]));

/** Ids are checked by the use case, not the schema: a malformed one is a 404, not a 422. */
export const ReturnParams = Type.Object(
  { order_id: Type.String({ maxLength: 100 }), return_id: Type.String({ maxLength: 100 }) },
  { additionalProperties: false },
);

const ReturnItems = Type.Array(
  Type.Object(
    { product_id: ProductId, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) },
    { additionalProperties: false },
  ),
  {
    minItems: 1,
    maxItems: 100,
  },
);

export const RequestReturnBody = Type.Object({ items: ReturnItems, reason: Note }, { additionalProperties: false });
export type RequestReturnBody = Static<typeof RequestReturnBody>;

/** Both bodies are optional: a receive with nothing restocks, a reject with nothing has no note. */
export const ReceiveReturnBody = Type.Union([
  Type.Object({ restock: Type.Optional(Type.Boolean({ default: true })), note: Note }, { additionalProperties: false }),
  Type.Null(),
]);

export const RejectReturnBody = Type.Union([Type.Object({ note: Note }, { additionalProperties: false }), Type.Null()]);

export const Return = Type.Object({
  id: Uuid,
  order_id: Uuid,
  status: Type.Enum(RETURN_STATUSES),
  items: Type.Array(Type.Object({ product_id: ProductId, quantity: Type.Integer() })),
  refund_amount: {
    ...MinorUnits,
    description: 'Σ unit_price × quantity of the returned units, refunded when the return is received',
  },
  reason: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ReturnList = Type.Object({ items: Type.Array(Return) });
