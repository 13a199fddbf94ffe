import { INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { SessionWebSocketAdapter } from 'nest-session-security';
import type { WebSocket } from 'ws';
import { accountMessage } from './account-socket';

/**
 * Plain WebSockets (`ws`) on the app's own HTTP server, with the session of the browser that
 * opened them: the package's adapter checks the handshake's Origin, loads the session from its
 * cookie and closes every socket of a session that ends, after telling the page why. Call it
 * before `app.init()`.
 */
export function useSessionSockets(app: INestApplication): void {
  app.useWebSocketAdapter(
    new SessionWebSocketAdapter(app, new WsAdapter(app), {
      onSessionEnd: (socket, code) =>
        (socket as WebSocket).send(accountMessage({ type: 'session.ended', code })),
    }),
  );
}
