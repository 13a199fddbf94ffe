import { OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { getSession, SESSION_CLOSE_CODE, SessionDenialCode } from 'nest-session-security';
import { WebSocket } from 'ws';
import { UsersService } from '../users/users.service';
import { ACCOUNT_SOCKET_PATH, accountMessage } from './account-socket';

/**
 * `GET /ws`, a plain WebSocket to the signed-in user's account: it greets the user, and the
 * package's adapter (set up in `session-sockets.ts`) tells the page and closes the socket the
 * moment the session ends anywhere. No decorator: the module's default access ('authenticated') has the
 * adapter close a socket without a signed-in session with 4401 before this gateway sees it.
 */
@WebSocketGateway({ path: ACCOUNT_SOCKET_PATH })
export class AccountGateway implements OnGatewayConnection<WebSocket> {
  constructor(private readonly users: UsersService) {}

  async handleConnection(socket: WebSocket): Promise<void> {
    const { userId } = getSession(socket);
    const user = userId === null ? null : await this.users.findById(userId);
    // A session can outlive its user (deleted account): the socket is told as a signed-out one.
    if (!user) return socket.close(SESSION_CLOSE_CODE, SessionDenialCode.Required);
    // The session may have ended while the user was read: the socket is closed already then.
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(accountMessage({ type: 'hello', user: user.username }));
    }
  }
}
