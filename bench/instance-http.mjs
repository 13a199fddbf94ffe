import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * HTTP to the instances of a two-instance bench (`instance`: `{ key, base }`), as a browser
 * talks to a server: one keep-alive agent per instance. `cookieName` is the session cookie's.
 */
export function instanceHttp(cookieName) {
  const agents = new Map();
  const agentOf = (key) => {
    if (!agents.has(key)) agents.set(key, new Agent({ keepAlive: true }));
    return agents.get(key);
  };

  /** One request; resolves {status, body, cookie, at} where `at` is when the response ended. */
  function http(instance, method, path, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${instance.base}${path}`,
        { method, headers, agent: agentOf(instance.key) },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => {
            const at = performance.now();
            const cookie = (res.headers['set-cookie'] ?? [])
              .map((line) => line.split(';')[0])
              .find(
                (pair) => pair.startsWith(`${cookieName}=`) && pair.length > cookieName.length + 1,
              );
            try {
              resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null, cookie, at });
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Signs in as a browser does (GET /csrf for the pre-login session, POST /login with its
   * token); returns the session's cookie, CSRF token and handle.
   */
  async function signIn(instance, user) {
    const before = await http(instance, 'GET', '/csrf');
    const headers = { 'x-csrf-token': before.body.token };
    if (before.cookie) headers.cookie = before.cookie;
    const response = await http(instance, 'POST', `/login?u=${user}`, headers);
    if (response.status !== 200 || !response.cookie) {
      throw new Error(`login at ${instance.key}: ${response.status}, cookie ${!!response.cookie}`);
    }
    return { cookie: response.cookie, csrf: response.body.csrf, handle: response.body.handle };
  }

  /** Closes the kept connections. */
  function close() {
    for (const agent of agents.values()) agent.destroy();
  }

  return { http, signIn, close };
}
