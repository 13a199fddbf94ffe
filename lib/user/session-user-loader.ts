/**
 * Loads the user a signed-in session belongs to, so that handlers get the app's user object
 * (`@CurrentUser()`, and `req.user` for code written for Passport) rather than only its ID.
 *
 * Provide it under this class, in any module of the app (it need not be exported): the
 * `SessionGuard` finds it at start-up and, for each request of a signed-in session, calls
 * `load` once, before the route's checks. With no loader provided, the guard loads no user and
 * costs nothing more. The loader must be a singleton (the default scope).
 *
 * Return `null` for a user that no longer exists or may no longer sign in (deleted, disabled):
 * the session is then ended as `SessionService.logout` ends it (row deleted, cookies cleared,
 * remember-me token of the device forgotten), and the request goes on as anonymous. Throw for a
 * failure that may pass (database unreachable): the request fails and the session is kept.
 *
 * @example
 * @Injectable()
 * export class UsersLoader extends SessionUserLoader<User> {
 *   constructor(private readonly users: UsersService) { super(); }
 *   async load(userId: string): Promise<User | null> {
 *     const user = await this.users.findById(Number(userId));
 *     return user && !user.disabled ? user : null;
 *   }
 * }
 *
 * @Module({
 *   providers: [UsersService, { provide: SessionUserLoader, useClass: UsersLoader }],
 * })
 * export class UsersModule {}
 */
export abstract class SessionUserLoader<User = unknown> {
  /** The user with this ID (as `SessionService.authenticate` stored it), or `null`. */
  abstract load(userId: string): Promise<User | null>;
}
