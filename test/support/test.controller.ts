import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpException,
  Injectable,
  NotFoundException,
  Param,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import {
  CsrfService,
  CurrentSession,
  CurrentUserId,
  JsonValue,
  Public,
  RememberMeService,
  RequireFreshAuth,
  SkipCsrf,
  Session as BaseSession,
  SessionService,
} from 'nest-session-security';

/**
 * Lets a test hold requests inside a handler until it says so, to interleave concurrent
 * requests deterministically (no sleeping).
 */
@Injectable()
export class TestGate {
  private waiting: (() => void)[] = [];
  private arrivals: ((count: number) => void)[] = [];

  /** Called by a handler: resolves when the test opens the gate. */
  pass(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.arrivals.forEach((notify) => notify(this.waiting.length));
    });
  }

  /** Resolves once `count` requests wait at the gate. */
  arrived(count: number): Promise<void> {
    if (this.waiting.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const notify = (n: number) => {
        if (n < count) return;
        this.arrivals = this.arrivals.filter((other) => other !== notify);
        resolve();
      };
      this.arrivals.push(notify);
    });
  }

  open(): void {
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((release) => release());
  }
}

type Changes = Record<string, JsonValue>;
/** Untyped data: the suites write arbitrary keys (the sample's SessionData augmentation aside). */
type Session = BaseSession<Changes>;

function view(session: Session) {
  return {
    userId: session.userId,
    handle: session.handle ?? null,
    data: Object.fromEntries(session.keys().map((key) => [key, session.get(key)])),
  };
}

function apply(session: Session, changes: Changes): void {
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) session.delete(key);
    else session.set(key, value);
  }
}

/** Routes the end-to-end suites drive. */
@Controller()
export class TestController {
  constructor(
    private readonly sessions: SessionService,
    private readonly gate: TestGate,
    private readonly csrf: CsrfService,
    private readonly rememberMe: RememberMeService,
  ) {}

  @Get('remembered')
  remembered(@CurrentUserId() userId: string) {
    return this.rememberMe.listDevices(userId);
  }

  @Delete('remembered/:handle')
  @HttpCode(204)
  async forget(@CurrentUserId() userId: string, @Param('handle') handle: string) {
    if (!(await this.rememberMe.revokeDevice(userId, handle))) throw new NotFoundException();
  }

  @Post('password')
  @HttpCode(200)
  async passwordChanged(@CurrentSession() session: Session) {
    return { ended: await this.sessions.passwordChanged(session) };
  }

  @Public()
  @Get('csrf')
  csrfToken(@CurrentSession() session: Session) {
    return { token: this.csrf.token(session) };
  }

  @Public()
  @SkipCsrf()
  @Post('webhook')
  @HttpCode(200)
  webhook() {
    return { ok: true };
  }

  @RequireFreshAuth('5m')
  @Post('sensitive')
  @HttpCode(200)
  sensitive(@CurrentUserId() userId: string) {
    return { userId };
  }

  /** First step of a two-step login: the user is known but not authenticated yet. */
  @Public()
  @Post('login/password')
  @HttpCode(200)
  async loginFirstFactor(@CurrentSession() session: Session, @Body() body: { userId: string }) {
    await this.sessions.regenerate(session);
    session.set('pendingUserId', body.userId);
    return view(session);
  }

  @Public()
  @Post('login/second-factor')
  @HttpCode(200)
  async loginSecondFactor(@CurrentSession() session: Session) {
    const pending = session.get('pendingUserId');
    if (typeof pending !== 'string') throw new NotFoundException();
    session.delete('pendingUserId');
    await this.sessions.authenticate(session, pending);
    return view(session);
  }

  /** Both data routes: optionally wait at the test's gate, then apply the changes. */
  private async applyChanges(session: Session, changes: Changes, gate?: string) {
    if (gate) await this.gate.pass();
    apply(session, changes);
    return view(session);
  }

  @Public()
  @Get('public')
  read(@CurrentSession() session: Session) {
    return view(session);
  }

  @Public()
  @Post('public/data')
  @HttpCode(200)
  async write(
    @CurrentSession() session: Session,
    @Body() changes: Changes,
    @Query('gate') gate?: string,
  ) {
    return this.applyChanges(session, changes, gate);
  }

  /** A streamed body (written, not ended, first) from a handler that writes the session. */
  /** A read-modify-write of one key with `update`, optionally held at the gate first. */
  @Public()
  @Post('public/list/:key')
  @HttpCode(200)
  async append(
    @CurrentSession() session: Session,
    @Param('key') key: string,
    @Body() body: { item: JsonValue },
    @Query('gate') gate?: string,
  ) {
    if (gate) await this.gate.pass();
    const list = session.update(key, (current) => [
      ...(Array.isArray(current) ? current : []),
      body.item,
    ]);
    return { list };
  }

  /** A read, then (after the gate, if asked) a plain set of the same key. */
  @Public()
  @Post('public/read-then-set/:key')
  @HttpCode(200)
  async readThenSet(
    @CurrentSession() session: Session,
    @Param('key') key: string,
    @Body() body: { value: JsonValue },
    @Query('gate') gate?: string,
  ) {
    const before = session.get(key) ?? null;
    if (gate) await this.gate.pass();
    session.set(key, body.value);
    return { before };
  }

  @Public()
  @Get('public/stream')
  stream(@CurrentSession() session: Session) {
    session.set('streamed', true);
    return new StreamableFile(Readable.from([Buffer.from('one,'), Buffer.from('two')]), {
      type: 'text/plain',
    });
  }

  @Public()
  @Delete('public/data')
  @HttpCode(200)
  clear(@CurrentSession() session: Session) {
    session.clear();
    return view(session);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(
    @CurrentSession() session: Session,
    @Body() body: { userId: string; set?: Changes; rememberMe?: boolean },
    @Query('gate') gate?: string,
    /** Waits at the gate between the sign-in and the remember-me token. */
    @Query('gateRemember') gateRemember?: string,
  ) {
    if (gate) await this.gate.pass();
    await this.sessions.authenticate(session, body.userId);
    if (gateRemember) await this.gate.pass();
    if (body.rememberMe) await this.rememberMe.issue(session);
    if (body.set) apply(session, body.set);
    return view(session);
  }

  @Get('private/gated')
  async gatedRead(@CurrentSession() session: Session) {
    await this.gate.pass();
    return view(session);
  }

  @Get('private')
  me(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    return { ...view(session), userIdParam: userId };
  }

  /** `?fail=1`: the handler throws (418) after changing the session. */
  @Post('private/data')
  @HttpCode(200)
  async writePrivate(
    @CurrentSession() session: Session,
    @Body() changes: Changes,
    @Query('gate') gate?: string,
    @Query('fail') fail?: string,
  ) {
    const view = await this.applyChanges(session, changes, gate);
    if (fail) throw new HttpException('The handler failed after writing.', 418);
    return view;
  }

  @Post('elevate')
  @HttpCode(200)
  async elevate(@CurrentSession() session: Session, @Query('gate') gate?: string) {
    if (gate) await this.gate.pass();
    await this.sessions.regenerate(session);
    return view(session);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentSession() session: Session) {
    await this.sessions.logout(session);
  }

  @Get('sessions')
  list(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    return this.sessions.listSessions(userId, session);
  }

  @Delete('sessions/:handle')
  @HttpCode(204)
  async revoke(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
    @Param('handle') handle: string,
  ) {
    if (!(await this.sessions.revoke(userId, handle, session))) throw new NotFoundException();
  }

  @Post('sessions/revoke-others')
  @HttpCode(200)
  async revokeOthers(@CurrentSession() session: Session) {
    return { ended: await this.sessions.revokeOthers(session) };
  }

  @Post('logout-all')
  @HttpCode(200)
  async logoutAll(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    return { ended: await this.sessions.logoutAll(userId, session) };
  }
}
