import { MIN_PASSWORD_LENGTH } from '../auth/change-password.dto';
import { ACCOUNT_SOCKET_PATH } from '../live/account-socket';
import { SessionView } from '../sessions/session-view';
import { DEMO_USERS } from '../users/demo-users';
import { PublicUser } from '../users/public-user';
import { HOME_PAGE_SCRIPT } from './home-page.script';
import { HOME_PAGE_STYLE } from './home-page.style';

/** What the page shows to a signed-in user; `null` shows the sign-in form. */
export interface SignedInView {
  user: PublicUser;
  sessions: SessionView[];
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML content and quoted attributes. User agents and names come from users. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

/** A `<time>` the script shows in the reader's time zone; UTC without the script. */
function time(date: Date): string {
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** A form the page script sends as JSON to `api`; its errors go to the alert inside it. */
function apiForm(
  attributes: {
    id?: string;
    class?: string;
    api: string;
    method?: string;
    /** Shown after the page reloads on success. */
    done?: string;
    /** Signs in again as this user when the route answers `reauth_required`. */
    reauthAs?: string;
  },
  content: string,
): string {
  const attrs = [
    attributes.id && `id="${attributes.id}"`,
    attributes.class && `class="${attributes.class}"`,
    `data-api="${escapeHtml(attributes.api)}"`,
    attributes.method && `data-method="${attributes.method}"`,
    attributes.done && `data-done="${escapeHtml(attributes.done)}"`,
    attributes.reauthAs && `data-reauth-as="${escapeHtml(attributes.reauthAs)}"`,
  ].filter(Boolean);
  // method="post": should the script not run, a password never ends up in a URL.
  return `<form method="post" ${attrs.join(' ')}>${content}<p class="error" role="alert"></p></form>`;
}

function signInSection(): string {
  const demo = DEMO_USERS.map(
    (user) =>
      `<code>${escapeHtml(user.username)}</code> / <code>${escapeHtml(user.password)}</code>`,
  ).join(' or ');
  return `
<section aria-labelledby="sign-in-title">
  <h2 id="sign-in-title">Sign in</h2>
  ${apiForm(
    { id: 'sign-in', class: 'fields', api: '/api/auth/login' },
    `
    <label for="username">Username</label>
    <input id="username" name="username" type="text" autocomplete="username" maxlength="64" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <label class="check"><input name="rememberMe" type="checkbox"> Remember me on this device</label>
    <div><button type="submit">Sign in</button></div>`,
  )}
  <p class="hint">Demo users: ${demo}.</p>
</section>`;
}

/**
 * One session of the list. Every row but the current one has a "sign out" button: the current
 * session signs out with the button at the top (a second "this device" row would be a session
 * someone else started, which is why a restore from remember-me is its own entry).
 */
function sessionRow(session: SessionView): string {
  const device = escapeHtml(session.device);
  const action = session.current
    ? ''
    : apiForm(
        {
          api: `/api/sessions/${encodeURIComponent(session.handle)}`,
          method: 'DELETE',
          done: `${session.device} was signed out.`,
        },
        `<button type="submit" aria-label="Sign out ${device}">Sign out</button>`,
      );
  return `
    <tr${session.current ? ' aria-current="true"' : ''}>
      <td>${device}${session.current ? '<span class="badge">this device</span>' : ''}
        <span class="agent">${escapeHtml(session.userAgent ?? 'unknown browser')}</span></td>
      <td>${escapeHtml(session.ip ?? 'unknown')}</td>
      <td>${time(session.createdAt)}</td>
      <td>${time(session.lastSeenAt)}</td>
      <td>${action}</td>
    </tr>`;
}

function signedInSections({ user, sessions }: SignedInView): string {
  return `
<section aria-labelledby="account-title">
  <h2 id="account-title">Signed in as <strong>${escapeHtml(user.username)}</strong></h2>
  <div class="actions">
    ${apiForm(
      { id: 'sign-out', api: '/api/auth/logout', done: 'You signed out.' },
      '<button type="submit">Sign out</button>',
    )}
    ${apiForm(
      {
        id: 'sign-out-everywhere',
        api: '/api/auth/logout-all',
        done: 'You signed out on every device, and no device remembers you any more.',
      },
      '<button type="submit">Sign out everywhere</button>',
    )}
  </div>
</section>
<section aria-labelledby="sessions-title">
  <h2 id="sessions-title">Your sessions</h2>
  <table>
    <thead>
      <tr><th scope="col">Device</th><th scope="col">IP address</th><th scope="col">Signed in</th><th scope="col">Last active</th><th scope="col"><span class="visually-hidden">Action</span></th></tr>
    </thead>
    <tbody>${sessions.map(sessionRow).join('')}
    </tbody>
  </table>
  ${apiForm(
    {
      id: 'revoke-others',
      api: '/api/sessions/revoke-others',
      done: 'Every other session was signed out.',
    },
    '<button type="submit">Sign out everywhere else</button>',
  )}
</section>
<section aria-labelledby="password-title">
  <h2 id="password-title">Change password</h2>
  ${apiForm(
    {
      id: 'change-password',
      class: 'fields',
      api: '/api/auth/password',
      done: 'Your password was changed, and your other sessions were signed out.',
      reauthAs: user.username,
    },
    `
    <label for="current-password">Current password</label>
    <input id="current-password" name="currentPassword" type="password" autocomplete="current-password" required>
    <label for="new-password">New password</label>
    <input id="new-password" name="newPassword" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required aria-describedby="new-password-hint">
    <p id="new-password-hint" class="hint">At least ${MIN_PASSWORD_LENGTH} characters. Your other sessions will be signed out.</p>
    <div><button type="submit">Change password</button></div>`,
  )}
</section>`;
}

/** The whole page: the sign-in form, or who is signed in with their sessions. */
export function renderHomePage(view: SignedInView | null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${view ? `${escapeHtml(view.user.username)} · ` : ''}nest-session-security sample</title>
<style>${HOME_PAGE_STYLE}</style>
</head>
<body>
<main${view ? ` data-socket="${ACCOUNT_SOCKET_PATH}"` : ''}>
<h1>nest-session-security sample</h1>
<noscript><p class="notice">This page needs JavaScript to sign in and out.</p></noscript>
<p id="notice" class="notice" role="status" hidden></p>
${view ? signedInSections(view) : signInSection()}
</main>
<script>${HOME_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
