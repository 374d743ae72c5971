import { Type } from 'typebox';
import { OUTBOX_STATUSES } from '../../domain/messages.js';
import { Cursor, PageLimit } from './common.js';

const Timestamp = Type.String({ format: 'date-time' });

export const OutboxItem = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.String({ description: 'email | event' }),
    topic: Type.String({ description: 'email kind (order_confirmation…) or event type (order.created…)' }),
    status: Type.String({ description: 'pending | delivered | dead' }),
    attempts: Type.Integer({ minimum: 0 }),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    next_attempt_at: Timestamp,
    delivered_at: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);

export const OutboxPage = Type.Object(
  { items: Type.Array(OutboxItem), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);

export const OutboxQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(OUTBOX_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const RetryParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
