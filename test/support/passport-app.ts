import {
  Controller,
  DynamicModule,
  Get,
  HttpCode,
  Injectable,
  Module,
  ParseIntPipe,
  Post,
  Provider,
  Request,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import {
  CsrfToken,
  CurrentSession,
  CurrentUser,
  CurrentUserId,
  Public,
  Session,
  SessionGuard,
  SessionService,
  SessionUserLoader,
} from 'nest-session-security';

/** The app's user, as its own users service returns it (a numeric ID, as most SQL apps have). */
export interface User {
  id: number;
  email: string;
  name: string;
}

export const ADA = { id: 42, email: 'ada@example.com', name: 'Ada' };
export const ADA_PASSWORD = 'correct horse battery staple';

/** Code written for Passport reads the user from the request. */
interface PassportRequest {
  user?: User;
}

/** The app's users, in memory: a test deletes one to see what its sessions do then. */
@Injectable()
export class UsersService {
  private readonly users = new Map<number, User>();
  /** How many times a password was checked. */
  verifications = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.users.clear();
    this.verifications = 0;
    this.users.set(ADA.id, { ...ADA });
  }

  verify(email: string, password: string): User | null {
    this.verifications++;
    const user = [...this.users.values()].find((candidate) => candidate.email === email);
    return user && password === ADA_PASSWORD ? user : null;
  }

  findById(id: number): User | null {
    return this.users.get(id) ?? null;
  }

  delete(id: number): void {
    this.users.delete(id);
  }
}

/** The app's loader: counts its calls, so the tests see when and how often users are loaded. */
@Injectable()
export class UsersLoader extends SessionUserLoader<User> {
  readonly calls: string[] = [];

  constructor(private readonly users: UsersService) {
    super();
  }

  async load(userId: string): Promise<User | null> {
    this.calls.push(userId);
    return this.users.findById(Number(userId));
  }
}

/** passport-local checks the password; the session package takes over from there. */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  constructor(private readonly users: UsersService) {
    super({ usernameField: 'email' });
  }

  validate(email: string, password: string): User {
    const user = this.users.verify(email, password);
    if (!user) throw new UnauthorizedException('Wrong email or password.');
    return user;
  }
}

/** The login route of the recipe: Passport's guard, then `SessionService.authenticate`. */
@Controller('auth')
export class AuthController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Get('csrf')
  csrf(@CsrfToken() token: string) {
    return { token };
  }

  @Public()
  @UseGuards(AuthGuard('local'))
  @Post('login')
  @HttpCode(200)
  async login(@Request() req: PassportRequest, @CurrentSession() session: Session): Promise<User> {
    const user = req.user!;
    await this.sessions.authenticate(session, user.id);
    return user;
  }
}

/** Routes of a signed-in user, read the three ways an app may read its user. */
@Controller('me')
export class ProfileController {
  @Get()
  profile(@CurrentUser() user: User, @Request() req: PassportRequest) {
    return { user, reqUser: req.user ?? null };
  }

  @Get('id')
  id(@CurrentUserId(ParseIntPipe) id: number) {
    return { id, type: typeof id };
  }

  /** The global guard and this one both run: the user must still be loaded once. */
  @UseGuards(SessionGuard)
  @Get('guarded-twice')
  guardedTwice(@CurrentUser() user: User) {
    return { user };
  }

  @Public()
  @Get('optional')
  optional(
    @CurrentUser() user: User | null,
    @CurrentUserId() userId: string | null,
    @CurrentUserId(new ParseIntPipe({ optional: true })) numericId: number | null,
  ) {
    return { user, userId, numericId };
  }

  /** Gives an anonymous visitor a stored session (a cart, say). */
  @Public()
  @Post('visit')
  @HttpCode(200)
  visit(@CurrentSession() session: Session<{ visited: boolean }>) {
    session.set('visited', true);
    return { ok: true };
  }
}

/** Without a loader: only `@CurrentUserId()` and Passport's own `req.user` at login. */
@Controller('plain')
export class PlainController {
  @Get()
  plain(@CurrentUserId(ParseIntPipe) id: number, @Request() req: PassportRequest) {
    return { id, reqUser: req.user ?? null };
  }

  @Get('current-user')
  currentUser(@CurrentUser() user: User) {
    return { user };
  }
}

@Module({})
export class UsersModule {}

/**
 * The app's users feature module: the users service, the Passport strategy and, unless
 * `loader: false`, the `SessionUserLoader`, provided here and not exported, as an app would.
 */
export function usersModule({ loader }: { loader: boolean }): DynamicModule {
  const providers: Provider[] = [UsersService, LocalStrategy];
  if (loader) providers.push({ provide: SessionUserLoader, useClass: UsersLoader });
  return { module: UsersModule, imports: [PassportModule], providers, exports: [UsersService] };
}
