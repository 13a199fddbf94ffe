import { DynamicModule, Injectable } from '@nestjs/common';
import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import {
  Args,
  Context,
  Field,
  GraphQLModule,
  Mutation,
  ObjectType,
  Query,
  Resolver,
} from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import {
  Authenticated,
  CsrfService,
  CurrentSession,
  CurrentUser,
  CurrentUserId,
  getSession,
  JsonValue,
  Public,
  RequireFreshAuth,
  Session as BaseSession,
  SessionModuleOptions,
  SessionService,
  SessionUserLoader,
  SkipCsrf,
} from 'nest-session-security';
import { Adapter, TestApp, useTestApp } from './test-app';

/** Untyped data: the suite writes arbitrary keys. */
type Session = BaseSession<Record<string, JsonValue>>;

/**
 * The GraphQL context the apps build: the request, and a function that reads its session (the
 * context is built before the guard loads the session, so it is read when a resolver asks).
 */
export interface GraphqlContext {
  req: object;
  session: () => Session;
}

/** The app's users: `@CurrentUser()` in a resolver gets one of these. */
export interface GraphqlUser {
  id: string;
  name: string;
}

const USERS: Record<string, string> = { ada: 'Ada', bob: 'Bob' };

@Injectable()
export class GraphqlUsers extends SessionUserLoader<GraphqlUser> {
  async load(userId: string): Promise<GraphqlUser | null> {
    const name = USERS[userId];
    return name ? { id: userId, name } : null;
  }
}

/** The resolvers that ran, in order, so a test sees that a refused one never did. */
@Injectable()
export class ResolverLog {
  readonly ran: string[] = [];

  note(name: string): void {
    this.ran.push(name);
  }
}

@ObjectType()
export class SessionView {
  @Field(() => String, { nullable: true })
  userId!: string | null;

  /** The session data as JSON. */
  @Field(() => String)
  data!: string;
}

@ObjectType()
export class Me {
  @Field(() => String)
  userId!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;
}

function view(session: Session): SessionView {
  const data = Object.fromEntries(session.keys().map((key) => [key, session.get(key)]));
  return { userId: session.userId, data: JSON.stringify(data) };
}

/** The resolvers the suite drives: the app's own default access applies where none is given. */
@Resolver()
export class SessionResolver {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
    private readonly log: ResolverLog,
  ) {}

  @Public()
  @Query(() => String)
  csrfToken(@CurrentSession() session: Session): string {
    return this.csrf.token(session);
  }

  @Public()
  @Query(() => SessionView)
  session(@CurrentSession() session: Session): SessionView {
    this.log.note('session');
    return view(session);
  }

  /** Under the module's default access. */
  @Query(() => Me)
  me(@CurrentUserId() userId: string, @CurrentUser() user: GraphqlUser | null): Me {
    this.log.note('me');
    return { userId, name: user?.name ?? null };
  }

  /** Under the module's default access, and nullable: a refusal leaves `null` in `data`. */
  @Query(() => String, { nullable: true })
  undecorated(@CurrentUserId() userId: string | null): string {
    this.log.note('undecorated');
    return userId ?? 'anonymous';
  }

  @Authenticated()
  @Query(() => String, { nullable: true })
  authenticatedOnly(@CurrentUserId() userId: string): string {
    this.log.note('authenticatedOnly');
    return userId;
  }

  /** `getSession()` through the context factory's lazy `session`. */
  @Query(() => String)
  fromContextFactory(@Context() context: GraphqlContext): string {
    const session = context.session();
    return `${session.userId}:${session.get('k') ?? ''}`;
  }

  /** `getSession(req)` on the context's request, as code written for `@Context()` does. */
  @Query(() => String)
  fromContextRequest(@Context('req') req: object): string {
    return String(getSession(req).userId);
  }

  @Public()
  @Mutation(() => SessionView)
  async signIn(
    @CurrentSession() session: Session,
    @Args('userId', { type: () => String }) userId: string,
  ): Promise<SessionView> {
    this.log.note('signIn');
    await this.sessions.authenticate(session, userId);
    return view(session);
  }

  @Mutation(() => Boolean)
  async signOut(@CurrentSession() session: Session): Promise<boolean> {
    this.log.note('signOut');
    await this.sessions.logout(session);
    return true;
  }

  @Mutation(() => SessionView)
  setData(
    @CurrentSession() session: Session,
    @Args('key', { type: () => String }) key: string,
    @Args('value', { type: () => String }) value: string,
  ): SessionView {
    this.log.note('setData');
    session.set(key, value);
    return view(session);
  }

  /** A change anonymous visitors may make (a cart), so it needs a token of theirs. */
  @Public()
  @Mutation(() => SessionView)
  addToCart(
    @CurrentSession() session: Session,
    @Args('sku', { type: () => String }) sku: string,
  ): SessionView {
    this.log.note('addToCart');
    session.update('cart', (cart) => [...(Array.isArray(cart) ? cart : []), sku]);
    return view(session);
  }

  @RequireFreshAuth('5m')
  @Mutation(() => String)
  sensitive(@CurrentUserId() userId: string): string {
    this.log.note('sensitive');
    return userId;
  }

  /** Authenticated by something else (a signature, say): no session token needed. */
  @Public()
  @SkipCsrf()
  @Mutation(() => Boolean)
  webhook(): boolean {
    this.log.note('webhook');
    return true;
  }
}

/** A public class: its resolvers are public unless one says otherwise. */
@Public()
@Resolver()
export class CatalogResolver {
  @Query(() => String)
  catalog(): string {
    return 'catalog';
  }

  @Authenticated()
  @Query(() => String, { nullable: true })
  orders(@CurrentUserId() userId: string): string {
    return `orders of ${userId}`;
  }
}

/**
 * The GraphQL module as the README configures it: Apollo on Express, Mercurius on Fastify (the
 * driver the NestJS docs recommend there), each with a context factory that keeps the request
 * and gives resolvers a function to read the session with.
 */
export function graphqlModule(
  adapter: Adapter,
  driver: Record<string, unknown> = {},
): DynamicModule {
  if (adapter === 'express') {
    return GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      playground: false,
      context: ({ req, res }: { req: object; res: object }) => ({
        req,
        res,
        session: () => getSession(req),
      }),
      ...driver,
    });
  }
  return GraphQLModule.forRoot<MercuriusDriverConfig>({
    driver: MercuriusDriver,
    autoSchemaFile: true,
    context: (request: object) => ({ req: request, session: () => getSession(request) }),
    // Mercurius loads its query cache (quick-lru, ESM-only) with import(), which Jest's
    // CommonJS runtime cannot run; the cache changes nothing the suite checks.
    cache: false,
    ...driver,
  });
}

export interface GraphqlApp extends TestApp {
  log: ResolverLog;
}

/**
 * A test app with the suite's resolvers, a user loader and the global guard, CSRF on, for the
 * enclosing `describe` (tables, clock and events reset before each test, as `useTestApp` does).
 * `driver` adds or changes options of the GraphQL driver.
 */
export function useGraphqlApp(
  adapter: Adapter,
  setup: { options?: SessionModuleOptions; driver?: Record<string, unknown> } = {},
): GraphqlApp {
  const t = useTestApp(adapter, {
    options: { csrf: { enabled: true }, ...setup.options },
    imports: [graphqlModule(adapter, setup.driver)],
    controllers: [],
    providers: [
      SessionResolver,
      CatalogResolver,
      ResolverLog,
      { provide: SessionUserLoader, useClass: GraphqlUsers },
    ],
  }) as GraphqlApp;
  beforeAll(() => {
    t.log = t.app.get(ResolverLog);
  });
  beforeEach(() => {
    t.log.ran.length = 0;
  });
  return t;
}
