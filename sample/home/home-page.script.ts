/**
 * The page's only script, sent inline (its hash is in the Content-Security-Policy). Plain
 * browser JavaScript, no build step: every form with `data-api` is sent as JSON to that route
 * with the session's CSRF token in `x-csrf-token`. On success the page reloads: the server
 * renders the new state, and the new page fetches the CSRF token of the session as it now is
 * (sign-in gives the session a new secret). On failure the form says what went wrong, in
 * words chosen by the `code` of the error body.
 *
 * A signed-in page (`<main data-socket="/ws">`) keeps a WebSocket to `/ws` open: when the
 * session ends elsewhere (another device signs this one out, an expiry), the server says so at
 * once and the page shows "signed out: <code>", then the sign-in form.
 */
export const HOME_PAGE_SCRIPT = `
'use strict';
const MESSAGES = {
  invalid_credentials: 'Wrong username or password.',
  'change-password:invalid_credentials': 'The current password is wrong.',
  session_required: 'You are signed out. Sign in to continue.',
  session_idle_expired: 'You were signed out after a period of inactivity. Sign in again.',
  session_absolute_expired: 'Your session reached its maximum length. Sign in again.',
  session_revoked: 'This device was signed out from another session. Sign in again.',
  session_obsolete:
    'An outdated session ID was used, so this account was signed out everywhere. Sign in again.',
  session_ended: 'Your session ended. Sign in again.',
  session_limit_reached: 'This account is signed in on too many devices. Sign one out first.',
  session_not_found: 'That session is already signed out.',
  session_store_unavailable: 'The server cannot reach its database. Try again shortly.',
  remember_me_theft:
    'Your remember-me cookie was used elsewhere, so this account was signed out everywhere. ' +
    'Sign in again and change your password.',
  reauth_required: 'Please sign in again to do this.',
  csrf_token_invalid: 'This page was out of date, so it was reloaded. Please try again.',
  csrf_origin_rejected: 'The request was refused because it did not come from this page.',
};

async function fetchCsrfToken() {
  const response = await fetch('/api/csrf', { headers: { accept: 'application/json' } });
  return response.ok ? (await response.json()).token : '';
}
let csrfToken = fetchCsrfToken().catch(() => '');

/** Sends JSON with the CSRF token; resolves to the response and, for an error, its body. */
async function call(api, method, values) {
  const headers = { accept: 'application/json', 'x-csrf-token': await csrfToken };
  if (values) headers['content-type'] = 'application/json';
  const response = await fetch(api, {
    method,
    headers,
    body: values ? JSON.stringify(values) : undefined,
  });
  const body = response.ok ? {} : await response.json().catch(() => ({}));
  return { response, body };
}

function valuesOf(form) {
  const inputs = form.querySelectorAll('input[name]');
  if (inputs.length === 0) return undefined;
  const values = {};
  for (const input of inputs) {
    values[input.name] = input.type === 'checkbox' ? input.checked : input.value;
  }
  return values;
}

async function submit(form) {
  const values = valuesOf(form);
  const send = () => call(form.dataset.api, form.dataset.method || 'POST', values);
  const result = await send();
  // A password change needs a recent sign-in: sign in again with the current password just
  // typed, take the CSRF token of the renewed session, and try once more.
  if (result.body.code === 'reauth_required' && form.dataset.reauthAs) {
    const login = await call('/api/auth/login', 'POST', {
      username: form.dataset.reauthAs,
      password: values.currentPassword,
    });
    if (!login.response.ok) return login;
    csrfToken = fetchCsrfToken();
    return send();
  }
  return result;
}

function describeError(form, status, body) {
  if (body.code === 'invalid_body' && Array.isArray(body.message)) return body.message.join(' ');
  return (
    MESSAGES[form.id + ':' + body.code] ||
    MESSAGES[body.code] ||
    (typeof body.message === 'string' ? body.message : 'The request failed (HTTP ' + status + ').')
  );
}

/**
 * Empties the page's notice and every form's error: once a form is sent again, a message about
 * an earlier attempt (or an earlier page) would read as the answer to this one.
 */
function clearMessages() {
  const box = document.getElementById('notice');
  box.hidden = true;
  box.textContent = '';
  for (const alert of document.querySelectorAll('form [role=alert]')) alert.textContent = '';
}

function reloadWith(notice) {
  if (notice) sessionStorage.setItem('notice', notice);
  location.reload();
}

/**
 * While a form is being sent, its own answer says what became of the session (signing out
 * here ends it too): a sign-out announced by the socket meanwhile waits for that answer.
 */
let sending = false;
let endedWhileSending = null;

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
  event.preventDefault();
  const alert = form.querySelector('[role=alert]');
  const button = form.querySelector('button');
  clearMessages();
  button.disabled = true;
  sending = true;
  try {
    const { response, body } = await submit(form);
    if (response.ok) return reloadWith(form.dataset.done);
    for (const input of form.querySelectorAll('input[name]')) {
      input.setAttribute('aria-invalid', String(Boolean(body.fields && body.fields[input.name])));
    }
    // This device is signed out, or the page is stale: show the page as it now is, and why.
    const answered = ['invalid_credentials', 'reauth_required'].includes(body.code);
    const signedOut = response.status === 401 && !answered;
    if (signedOut || body.code === 'csrf_token_invalid') {
      return reloadWith(describeError(form, response.status, body));
    }
    alert.textContent = describeError(form, response.status, body);
  } catch {
    alert.textContent = 'The server cannot be reached. Check your connection and try again.';
  }
  button.disabled = false;
  sending = false;
  if (endedWhileSending) signedOutLive(endedWhileSending);
});

const SESSION_CLOSE_CODE = 4401;
let signingOut = false;

/** The session ended elsewhere: say how, at once, then show the page as it now is. */
function signedOutLive(code) {
  if (sending) {
    endedWhileSending = code;
    return;
  }
  if (signingOut) return;
  signingOut = true;
  const notice = 'signed out: ' + code + (MESSAGES[code] ? '. ' + MESSAGES[code] : '');
  clearMessages();
  const box = document.getElementById('notice');
  box.textContent = notice;
  box.hidden = false;
  for (const button of document.querySelectorAll('form button')) button.disabled = true;
  reloadWith(notice);
}

/**
 * The page's WebSocket. The server closes it with 4401 when the session ends, after a
 * "session.ended" message (or at once, with the code as the reason, when the session had
 * ended before the socket opened). Any other close (a restarted server, a lost network) opens
 * it again, waiting longer after each failure.
 */
function openSocket(path, retryMs) {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === 'hello') retryMs = 1000;
    if (message.type === 'session.ended') signedOutLive(String(message.code));
  });
  socket.addEventListener('close', (event) => {
    if (event.code === SESSION_CLOSE_CODE) return signedOutLive(event.reason || 'session_ended');
    if (!signingOut) setTimeout(() => openSocket(path, Math.min(retryMs * 2, 30000)), retryMs);
  });
}

const socketPath = document.querySelector('main').dataset.socket;
if (socketPath) openSocket(socketPath, 1000);

const notice = sessionStorage.getItem('notice');
if (notice) {
  sessionStorage.removeItem('notice');
  const box = document.getElementById('notice');
  box.textContent = notice;
  box.hidden = false;
}
for (const time of document.querySelectorAll('time[datetime]')) {
  time.textContent = new Date(time.dateTime).toLocaleString();
}
`;
