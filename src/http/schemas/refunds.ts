import { Type, type Static } from 'typebox';

export const RefundBody = Type.Object(
  {
    amount: Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Minor units, at most what was captured and is not yet refunded or being refunded',
    }),
    reason: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type RefundBody = Static<typeof RefundBody>;
