import request from 'supertest';
import { hashToken } from 'nest-session-security';
import { DataSource } from 'typeorm';

export const COOKIE = '__Host-sid';
/** The remember-me cookie under the package's default name, set at sign-in with `rememberMe: true`. */
export const REMEMBER_COOKIE = '__Host-remember';

export interface ParsedCookie {
  name: string;
  value: string;
  /** Attribute names in lower case, with their values (`true` for flags). */
  attributes: Record<string, string | true>;
  raw: string;
}

/** Parses Set-Cookie headers by hand, so every attribute is seen as the browser sees it. */
export function parseSetCookies(header: string | string[] | undefined): ParsedCookie[] {
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((raw) => {
    const [pair, ...attrs] = raw.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const at = attr.indexOf('=');
      if (at < 0) attributes[attr.toLowerCase()] = true;
      else attributes[attr.slice(0, at).toLowerCase()] = attr.slice(at + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes, raw };
  });
}

export function sessionCookies(response: request.Response, name = COOKIE): ParsedCookie[] {
  return parseSetCookies(response.headers['set-cookie']).filter((cookie) => cookie.name === name);
}

/** The values a response hands out in `name` cookies: every such Set-Cookie but a clearing one. */
export function issuedCookies(response: request.Response, name = COOKIE): string[] {
  return sessionCookies(response, name)
    .filter((cookie) => cookie.attributes['max-age'] !== '0')
    .map((cookie) => cookie.value);
}

/** Hex SHA-256 of a token, as the stored `id_hash` and `EventSessionInfo.idHash` carry it. */
export function idHash(token: string): string {
  return hashToken(token).toString('hex');
}

/** A client that keeps the session cookie like a browser: sets it on Set-Cookie, drops it when cleared. */
export class Browser {
  token: string | null = null;

  constructor(
    readonly url: string,
    readonly cookieName = COOKIE,
  ) {}

  private track(response: request.Response): request.Response {
    for (const cookie of sessionCookies(response, this.cookieName)) {
      this.token = cookie.attributes['max-age'] === '0' ? null : cookie.value;
    }
    return response;
  }

  private withCookie(test: request.Test): request.Test {
    return this.token ? test.set('Cookie', `${this.cookieName}=${this.token}`) : test;
  }

  async get(path: string): Promise<request.Response> {
    return this.track(await this.withCookie(request(this.url).get(path)));
  }

  async post(path: string, body: object = {}): Promise<request.Response> {
    return this.track(await this.withCookie(request(this.url).post(path).send(body)));
  }

  async delete(path: string): Promise<request.Response> {
    return this.track(await this.withCookie(request(this.url).delete(path)));
  }
}

export interface StoredSession {
  id_hash: Buffer;
  handle: string;
  user_id: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  authenticated_at: Date | null;
  last_seen_at: Date;
  rotated_at: Date;
  expires_at: Date;
  obsoleted_at: Date | null;
  successor: Buffer | null;
  revoked_at: Date | null;
  version: number;
}

export async function rowFor(
  dataSource: DataSource,
  token: string,
): Promise<StoredSession | undefined> {
  const rows = await dataSource.query(`SELECT * FROM "session" WHERE id_hash = $1`, [
    hashToken(token),
  ]);
  return rows[0];
}

/**
 * The hex id hashes (see `idHash`) of the user's sessions that can still be used: neither
 * replaced (obsoleted) nor revoked. Sorted.
 */
export async function liveSessions(dataSource: DataSource, userId: string): Promise<string[]> {
  const rows: { hash: string }[] = await dataSource.query(
    `SELECT encode(id_hash, 'hex') AS hash FROM "session"
     WHERE user_id = $1 AND obsoleted_at IS NULL AND revoked_at IS NULL ORDER BY 1`,
    [userId],
  );
  return rows.map((row) => row.hash);
}

export async function countRows(dataSource: DataSource): Promise<number> {
  const rows = await dataSource.query(`SELECT count(*)::int AS n FROM "session"`);
  return rows[0].n;
}

export async function emptySessions(dataSource: DataSource): Promise<void> {
  await dataSource.query(`TRUNCATE "session"`);
}
