import { INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { SESSION_CLOSE_CODE, SessionWebSocketAdapter } from 'nest-session-security';
import { Browser, COOKIE } from './http-client';
import { AccountGateway, LobbyGateway } from './session-gateways';
import { SocketClient } from './socket-client';
import { TestApp, TestAppSetup } from './test-app';

const MINUTE = 60_000;

/** The bound the package documents for closing a signed-out socket. */
export const CLOSE_BOUND_MS = 2000;

function withSockets(app: INestApplication): void {
  app.useWebSocketAdapter(new SessionWebSocketAdapter(app, new WsAdapter(app)));
}

/** A test app with the package's socket adapter and the test gateways. */
export const socketSetup = {
  providers: [AccountGateway, LobbyGateway],
  configure: withSockets,
  options: { idleTimeout: 30 * MINUTE, absoluteTimeout: 8 * 60 * MINUTE },
} satisfies TestAppSetup;

/** The Cookie header of a browser's session, `null` without one. */
export function cookieOf(browser: Browser): string | null {
  return browser.token ? `${COOKIE}=${browser.token}` : null;
}

export async function signIn(t: TestApp, userId = 'alice'): Promise<Browser> {
  const browser = new Browser(t.url);
  const response = await browser.post('/login', { userId });
  expect(response.status).toBe(200);
  return browser;
}

/** Opens the account socket of a signed-in browser and reads its hello. */
export async function openAccount(t: TestApp, browser: Browser): Promise<SocketClient> {
  const socket = await SocketClient.connect(`${t.url}/ws`, { cookie: cookieOf(browser) });
  expect(await socket.next()).toEqual({ type: 'hello', user: expect.any(String) });
  return socket;
}

/** A second client holding a copy of `browser`'s cookie (another tab or instance, or a thief). */
export function copyOf(t: TestApp, browser: Browser): Browser {
  const copy = new Browser(t.url);
  copy.token = browser.token;
  return copy;
}

/** Expects `socket` to be closed with 4401 and `reason` within the documented bound. */
export async function expectSignedOut(socket: SocketClient, reason: string): Promise<void> {
  expect(await socket.closeWithin(CLOSE_BOUND_MS)).toEqual({
    code: SESSION_CLOSE_CODE,
    reason,
  });
}
