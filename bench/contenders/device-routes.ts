import {
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import {
  CsrfService,
  CurrentSession,
  CurrentUserId,
  Public,
  Session,
  SessionService,
} from 'nest-session-security';

/**
 * The routes the two-instance benches drive (live sign-out, the session cache): a sign-in as a
 * browser does it, and the two ways one device of a user ends the others.
 */
@Controller()
export class DeviceRoutes {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  @Public()
  @Get('csrf')
  csrfToken(@CurrentSession() session: Session) {
    return { token: this.csrf.token(session) };
  }

  /** Signs in as `u`; the handle lets another device of the user revoke this one. */
  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@CurrentSession() session: Session, @Query('u') user: string) {
    await this.sessions.authenticate(session, user);
    return { userId: user, handle: session.handle, csrf: this.csrf.token(session) };
  }

  /** "Sign out everywhere": every session of the user, this one included. */
  @Post('logout-all')
  @HttpCode(200)
  async logoutAll(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    return { count: await this.sessions.logoutAll(userId, session) };
  }

  /** Revokes one other device of the signed-in user, by its handle. */
  @Delete('sessions/:handle')
  @HttpCode(204)
  async revoke(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
    @Param('handle') handle: string,
  ) {
    if (!(await this.sessions.revoke(userId, handle, session))) throw new NotFoundException();
  }
}
