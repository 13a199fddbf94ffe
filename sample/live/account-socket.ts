/** Where the account socket is served (`account.gateway.ts`) and where the page opens it. */
export const ACCOUNT_SOCKET_PATH = '/ws';

/**
 * What `GET /ws` sends, as JSON text frames. The page (`home-page.script.ts`) reads them; the
 * close that follows `session.ended` has code 4401 (`SESSION_CLOSE_CODE`) and the same code as
 * its reason.
 */
export type AccountMessage =
  /** First message of a socket with a signed-in session. */
  | { type: 'hello'; user: string }
  /** The session ended (signed out here or elsewhere, revoked, expired); `code` says how. */
  | { type: 'session.ended'; code: string };

export function accountMessage(message: AccountMessage): string {
  return JSON.stringify(message);
}
