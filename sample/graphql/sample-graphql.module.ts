import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { HttpAdapterName } from '../config/server.config';

/**
 * Options of the GraphQL driver that replace the sample's. The tests turn Mercurius's query cache
 * off (`cache: false`): it loads an ES module with `import()`, which Jest's CommonJS runtime
 * cannot run.
 */
export type GraphqlDriverOverrides = Record<string, unknown>;

/**
 * `POST /graphql` on either platform: Apollo on Express, Mercurius on Fastify (the driver the
 * NestJS docs recommend there). Code first: the schema is built in memory from the resolvers
 * (`cart.resolver.ts`, `me.resolver.ts`), no file is written. The HTTP request and response
 * are in the GraphQL context, where the `SessionGuard` and the session decorators find them.
 * The path is outside the `/api` prefix (GraphQL ignores the global prefix).
 */
export function sampleGraphqlModule(
  adapter: HttpAdapterName,
  overrides: GraphqlDriverOverrides = {},
): DynamicModule {
  if (adapter === 'fastify') {
    // Mercurius puts the request and Fastify's reply in the context itself: no factory needed.
    return GraphQLModule.forRoot<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      autoSchemaFile: true,
      ...overrides,
    });
  }
  return GraphQLModule.forRoot<ApolloDriverConfig>({
    driver: ApolloDriver,
    autoSchemaFile: true,
    // No landing page: Apollo's loads scripts from a CDN, which the sample has no use for.
    playground: false,
    // Errors say what went wrong, never where in the server's code (Apollo adds stack traces
    // unless NODE_ENV is 'production').
    includeStacktraceInErrorResponses: false,
    context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
    ...overrides,
  });
}
