import { Type, type Static } from 'typebox';
import { Currency, MinorUnits, Page, PageQuery, ProductId, Timestamp } from './common.js';

export const ProductBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    price: MinorUnits,
    currency: Currency,
    active: Type.Boolean(),
    stock: Type.Union([Type.Integer({ minimum: 0, maximum: 2_147_483_647 }), Type.Null()], {
      description: 'Units available; null means unlimited',
    }),
  },
  { additionalProperties: false },
);
export type ProductBody = Static<typeof ProductBody>;

export const Product = Type.Object({
  id: ProductId,
  name: Type.String(),
  price: MinorUnits,
  currency: Currency,
  active: Type.Boolean(),
  stock: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ProductParams = Type.Object({ product_id: ProductId }, { additionalProperties: false });
export const ProductPage = Page(Product);
export const ProductListQuery = PageQuery;
