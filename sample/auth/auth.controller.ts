import {
  Body,
  Controller,
  Headers,
  HttpCode,
  HttpStatus,
  Ip,
  Post,
  UseFilters,
} from '@nestjs/common';
import {
  CurrentSession,
  CurrentUserId,
  Public,
  RememberMeService,
  RequireFreshAuth,
  Session,
  SessionService,
} from 'nest-session-security';
import { PublicUser } from '../users/public-user';
import { UsersService } from '../users/users.service';
import { ChangePasswordDto } from './change-password.dto';
import { InvalidCredentialsException } from './invalid-credentials.exception';
import { LoginDto } from './login.dto';
import { RetryAfterFilter } from './retry-after.filter';
import { SignInThrottle } from './sign-in-throttle';

/** How recent the last sign-in must be for a password change. */
export const PASSWORD_CHANGE_AUTH_MAX_AGE = '10m';

@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly rememberMe: RememberMeService,
    private readonly throttle: SignInThrottle,
  ) {}

  /**
   * Signs in. `authenticate` gives the session a new ID before the user is stored in it
   * (session fixation) and carries over the anonymous data, such as the cart. With
   * `rememberMe`, the device also gets the remember-me cookie: when the session has expired, it
   * signs the user in again (but not freshly: changing the password asks for it again).
   * Failed sign-ins are limited per username and per address (429 `sign_in_throttled` with
   * `Retry-After`, see `SignInThrottle`); successful ones never count.
   */
  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @UseFilters(RetryAfterFilter)
  async login(
    @CurrentSession() session: Session,
    @Body() body: LoginDto,
    @Ip() ip: string | undefined,
    @Headers('user-agent') userAgent: string | undefined,
  ): Promise<{ user: PublicUser }> {
    const user = await this.throttle.attempt({ username: body.username, ip, userAgent }, () =>
      this.users.verifyCredentials(body.username, body.password),
    );
    if (!user) throw new InvalidCredentialsException();
    await this.sessions.authenticate(session, user.id);
    if (body.rememberMe) await this.rememberMe.issue(session);
    return { user };
  }

  /** Public so that signing out twice, or after expiry, still answers 204. */
  @Public()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentSession() session: Session): Promise<void> {
    await this.sessions.logout(session);
  }

  /**
   * Ends this session (clearing its cookies), every other session and every remembered device
   * of the user.
   */
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
  ): Promise<void> {
    await this.sessions.logout(session);
    await this.sessions.logoutAll(userId);
  }

  /**
   * Changes the password. It needs a sign-in within the last 10 minutes (401 `reauth_required`:
   * sign in again, which keeps the session's handle and data; a session restored by remember-me
   * always asks) and the current password (401 `invalid_credentials` when wrong). Then this
   * session gets a new ID, and every other session and every remember-me token of the user end:
   * whoever knew the old password may hold one.
   */
  @RequireFreshAuth(PASSWORD_CHANGE_AUTH_MAX_AGE)
  @Post('password')
  @HttpCode(HttpStatus.NO_CONTENT)
  async changePassword(
    @CurrentSession() session: Session,
    @CurrentUserId() userId: string,
    @Body() body: ChangePasswordDto,
  ): Promise<void> {
    const changed = await this.users.changePassword(userId, body.currentPassword, body.newPassword);
    if (!changed) throw new InvalidCredentialsException('The current password is wrong.');
    await this.sessions.passwordChanged(session);
  }
}
