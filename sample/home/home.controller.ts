import { Controller, Get, Header } from '@nestjs/common';
import {
  CurrentSession,
  CurrentUserId,
  Public,
  Session,
  SessionService,
} from 'nest-session-security';
import { toSessionView } from '../sessions/session-view';
import { UsersService } from '../users/users.service';
import { CONTENT_SECURITY_POLICY } from './content-security-policy';
import { renderHomePage } from './home-page';

/**
 * `GET /`: the web page. Public, so a visitor without a session, or with an expired or
 * signed-out one (its cookie is cleared), gets the sign-in form.
 */
@Public()
@Controller()
export class HomeController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  // The page lists the user's devices and addresses: never keep it in a shared cache.
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('X-Content-Type-Options', 'nosniff')
  async page(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string | null,
  ): Promise<string> {
    const user = userId === null ? null : await this.users.findById(userId);
    if (!user) return renderHomePage(null);
    const sessions = await this.sessions.listSessions(user.id, session);
    return renderHomePage({ user, sessions: sessions.map(toSessionView) });
  }
}
