import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../src/domain/errors.js';
import { planPartialCancel, type CancellableLine } from '../../src/domain/partial-cancel.js';

const lines: CancellableLine[] = [
  { product_id: 'a', unit_price: 1000, quantity: 3, quantity_cancelled: 1, quantity_returned: 0 },
  { product_id: 'b', unit_price: 250, quantity: 2, quantity_cancelled: 0, quantity_returned: 0 },
];

const paths = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect((e as DomainError).code).toBe('invalid_items');
    return ((e as DomainError).extra.errors as { path: string }[]).map((x) => x.path);
  }
  throw new Error('expected invalid_items');
};

describe('planning a partial cancel', () => {
  it('prices the units from the order and keeps the order open while units remain', () => {
    expect(planPartialCancel([{ product_id: 'a', quantity: 2 }], lines)).toEqual({
      units: [{ product_id: 'a', quantity: 2 }],
      amount: 2000,
      cancelsOrder: false,
    });
  });

  it('the last units cancel the order', () => {
    expect(
      planPartialCancel(
        [
          { product_id: 'b', quantity: 2 },
          { product_id: 'a', quantity: 2 },
        ],
        lines,
      ),
    ).toMatchObject({ amount: 2500, cancelsOrder: true });
  });

  it('units already cancelled or returned cannot be cancelled again', () => {
    expect(paths(() => planPartialCancel([{ product_id: 'a', quantity: 3 }], lines))).toEqual(['/items/0/quantity']);
    const returned = [{ ...lines[1]!, quantity_returned: 2 }];
    expect(paths(() => planPartialCancel([{ product_id: 'b', quantity: 1 }], returned))).toEqual(['/items/0/quantity']);
  });

  it('reports a product not in the order and a repeated one, each at its path', () => {
    expect(
      paths(() =>
        planPartialCancel(
          [
            { product_id: 'zz', quantity: 1 },
            { product_id: 'b', quantity: 1 },
            { product_id: 'b', quantity: 1 },
            { product_id: 'a', quantity: 9 },
          ],
          lines,
        ),
      ),
    ).toEqual(['/items/0/product_id', '/items/2/product_id', '/items/3/quantity']);
  });
});
