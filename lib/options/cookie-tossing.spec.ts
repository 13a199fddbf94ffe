import { cookieTossingWarning, ModuleCookies } from './cookie-tossing';
import { ResolvedCookieOptions } from './resolve-session-options';

function cookies(
  session: Partial<ResolvedCookieOptions> & { name: string },
  rememberMe = session.secure === false ? 'remember' : '__Host-remember',
): ModuleCookies {
  const cookie: ResolvedCookieOptions = { secure: true, sameSite: 'lax', path: '/', ...session };
  return { cookie, rememberMe: { cookie: { ...cookie, name: rememberMe } } };
}

describe('cookieTossingWarning (issue 11 §4: one start-up warning about cookie tossing)', () => {
  it('says nothing for the defaults: __Host-sid and __Host-remember', () => {
    expect(cookieTossingWarning(cookies({ name: '__Host-sid' }))).toBeNull();
  });

  it('says nothing without Secure (local http development, where __Host- is impossible)', () => {
    expect(cookieTossingWarning(cookies({ name: 'sid', secure: false }))).toBeNull();
  });

  it('matches the prefix without regard to case, as the option validation does', () => {
    expect(cookieTossingWarning(cookies({ name: '__HOST-sid' }, '__host-remember'))).toBeNull();
  });

  it.each(['sid', '__Secure-sid', 'Host-sid', '_Host-sid'])(
    'warns for a Secure session cookie named %s, naming the option, the cookie and the remedy',
    (name) => {
      const warning = cookieTossingWarning(cookies({ name }));
      expect(warning).toContain(`cookie.name "${name}" does not start with "__Host-"`);
      expect(warning).toMatch(/^Cookie tossing: /);
      expect(warning).toContain('sibling subdomain');
      expect(warning).toContain('plain-http page');
      expect(warning).toContain('session.duplicate_cookie');
      expect(warning).not.toContain('rememberMe.cookieName');
    },
  );

  it('warns for a cookie shared with subdomains (a domain needs a name without __Host-)', () => {
    const warning = cookieTossingWarning(cookies({ name: '__Secure-sid', domain: 'example.com' }));
    expect(warning).toContain('cookie.name "__Secure-sid"');
  });

  it('warns for a remember-me cookie name without __Host-, in the same single message', () => {
    expect(cookieTossingWarning(cookies({ name: '__Host-sid' }, 'remember'))).toContain(
      'rememberMe.cookieName "remember" does not start',
    );
    expect(cookieTossingWarning(cookies({ name: 'sid' }, 'remember'))).toContain(
      'cookie.name "sid" and rememberMe.cookieName "remember" do not start',
    );
  });
});
