import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Actor, Deps } from '../application/deps.js';

/** The Fastify instance every route file receives: typed by the TypeBox schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteOptions {
  deps: Deps;
}

export function actorOf(request: { user: { sub: string; email: string | null; isAdmin: boolean } }): Actor {
  return { sub: request.user.sub, email: request.user.email, isAdmin: request.user.isAdmin };
}
