import { Type } from 'typebox';

/** What /healthz and /readyz answer. */
export const Status = Type.Object({ status: Type.String() });

/** Both are public (`security: []`); like every route they can be refused by the HTTP parser (414, 431). */
export const OPERATIONS = { tags: ['operations'], security: [] };
