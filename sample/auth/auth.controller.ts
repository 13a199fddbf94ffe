import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  CurrentSession,
  CurrentUserId,
  Public,
  Session,
  SessionService,
} from 'nest-session-security';
import { PublicUser } from '../users/public-user';
import { UsersService } from '../users/users.service';
import { InvalidCredentialsException } from './invalid-credentials.exception';
import { LoginDto } from './login.dto';

@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Signs in. `authenticate` gives the session a new ID before the user is stored in it
   * (session fixation) and carries over the anonymous data, such as the cart.
   */
  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  async login(
    @CurrentSession() session: Session,
    @Body() body: LoginDto,
  ): Promise<{ user: PublicUser }> {
    const user = await this.users.verifyCredentials(body.username, body.password);
    if (!user) throw new InvalidCredentialsException();
    await this.sessions.authenticate(session, user.id);
    return { user };
  }

  /** Public so that signing out twice, or after expiry, still answers 204. */
  @Public()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentSession() session: Session): Promise<void> {
    await this.sessions.logout(session);
  }

  /** Ends this session (clearing its cookie) and every other session of the user. */
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
  ): Promise<void> {
    await this.sessions.logout(session);
    await this.sessions.logoutAll(userId);
  }
}
