/**
 * What the benchmarks send as a browser would: a sign-in over HTTP (with this package's CSRF
 * tokens), and the headers a browser adds to a request of a page of the same origin.
 */
/* global fetch */

function cookieFrom(response, cookieName) {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .find((pair) => pair.startsWith(`${cookieName}=`));
}

/**
 * Signs in over HTTP as a browser would and returns what later requests send: the session
 * cookie and, for this package (CSRF on by default), the CSRF header of the signed-in session
 * (GET /csrf before the login, for the pre-login session, and again after it).
 */
export async function login(base, user, cookieName, csrf) {
  const headers = {};
  if (csrf) {
    const before = await fetch(`${base}/csrf`);
    headers.cookie = cookieFrom(before, cookieName);
    headers['x-csrf-token'] = (await before.json()).token;
  }
  const response = await fetch(`${base}/login?u=${user}`, { method: 'POST', headers });
  if (response.status !== 200) throw new Error(`login at ${base}: ${response.status}`);
  const cookie = cookieFrom(response, cookieName);
  if (!cookie) throw new Error(`login at ${base}: no ${cookieName} cookie`);
  if (!csrf) return { cookie };
  const after = await fetch(`${base}/csrf`, { headers: { cookie } });
  return { cookie, 'x-csrf-token': (await after.json()).token };
}

/**
 * What a browser adds to a request of a page of `base`'s own origin: `Sec-Fetch-Site` on every
 * request, `Origin` on a POST (the Fetch standard sends it on every request that is not a GET
 * or HEAD). Sent to every contender alike; this package's CSRF check reads both on a POST.
 */
export function browserHeaders(method, base) {
  const site = { 'sec-fetch-site': 'same-origin' };
  return method === 'GET' || method === 'HEAD' ? site : { ...site, origin: new URL(base).origin };
}
