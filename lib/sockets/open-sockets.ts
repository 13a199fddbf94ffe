import { SessionRecord } from '../core/session-record';
import { SessionDenialCode } from '../errors/session.exceptions';
import { EventRequestInfo } from '../events/session-event';
import { ReachedSession } from '../lifecycle/session-chain';

/**
 * How many leading hex digits of a session's hashed ID index its sockets: enough to tell
 * sessions apart, short enough for any notification payload (a collision only costs a check).
 */
export const HASH_PREFIX_LENGTH = 16;

/** A socket whose session is signed out live: what it holds and how to close it. */
export interface OpenSocket {
  readonly socket: object;
  /** The client of the handshake, for the session's writes and events. */
  readonly client: EventRequestInfo;
  /** The session the socket reaches now (it follows rotations and same-user regenerations). */
  session: ReachedSession;
  /** Closes the socket because its session ended. */
  readonly end: (code: SessionDenialCode) => void;
}

function prefixOf(record: SessionRecord): string {
  return record.idHash.toString('hex').slice(0, HASH_PREFIX_LENGTH);
}

/**
 * The open sockets of this instance that have a session, indexed by the socket and by the
 * hashed ID of the session each one reaches. Changes only through the operations below.
 */
export class OpenSockets {
  private readonly bySocket = new Map<object, OpenSocket>();
  private readonly byHash = new Map<string, Set<OpenSocket>>();

  get size(): number {
    return this.bySocket.size;
  }

  add(open: OpenSocket): void {
    this.bySocket.set(open.socket, open);
    this.index(open);
  }

  /** Forgets a socket; `undefined` when it was not here (closed already). */
  remove(socket: object): OpenSocket | undefined {
    const open = this.bySocket.get(socket);
    if (!open) return undefined;
    this.bySocket.delete(socket);
    this.unindex(open);
    return open;
  }

  find(socket: object): OpenSocket | undefined {
    return this.bySocket.get(socket);
  }

  /** The socket now reaches `session` (a successor, or the same session read again). */
  follow(open: OpenSocket, session: ReachedSession): void {
    if (this.bySocket.get(open.socket) !== open) return;
    this.unindex(open);
    open.session = session;
    this.index(open);
  }

  /** The sockets whose session's hashed ID starts with one of `hexes` (any length from 16). */
  withHashes(hexes: Iterable<string>): OpenSocket[] {
    const found = new Set<OpenSocket>();
    for (const hex of hexes) {
      for (const open of this.byHash.get(hex.slice(0, HASH_PREFIX_LENGTH).toLowerCase()) ?? []) {
        found.add(open);
      }
    }
    return [...found];
  }

  all(): OpenSocket[] {
    return [...this.bySocket.values()];
  }

  private index(open: OpenSocket): void {
    const prefix = prefixOf(open.session.record);
    let set = this.byHash.get(prefix);
    if (!set) this.byHash.set(prefix, (set = new Set()));
    set.add(open);
  }

  private unindex(open: OpenSocket): void {
    const prefix = prefixOf(open.session.record);
    const set = this.byHash.get(prefix);
    set?.delete(open);
    if (set?.size === 0) this.byHash.delete(prefix);
  }
}
