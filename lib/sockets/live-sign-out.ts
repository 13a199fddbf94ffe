import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../core/clock';
import { assessSession, SessionVerdict } from '../core/session-policy';
import { SessionDenialCode } from '../errors/session.exceptions';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { followChain, ReachedSession } from '../lifecycle/session-chain';
import { SessionRepository } from '../storage/session.repository';
import { OpenSocket, OpenSockets } from './open-sockets';
import { SessionChangeListener, SessionChangeNotice } from '../storage/session-change-listener';

/**
 * How often open sockets are looked at without a notification: those whose session reached its
 * deadline by the clock, and every one of them while notifications cannot arrive (the listening
 * connection is down, or the store sends none). It bounds how late a socket closes then.
 */
export const SWEEP_INTERVAL_MS = 1000;

/** How many sessions one statement reads back when many sockets are checked at once. */
const CHECK_BATCH = 500;

/** The denial code a socket is closed with when its session's chain ends as `end` says. */
function endCode(end: 'signed-in' | { ended: SessionVerdict | null }): SessionDenialCode {
  if (end === 'signed-in' || end.ended === null) return SessionDenialCode.Ended;
  switch (end.ended.state) {
    case 'revoked':
      return SessionDenialCode.Revoked;
    case 'expired':
      return end.ended.reason === 'idle'
        ? SessionDenialCode.IdleExpired
        : SessionDenialCode.AbsoluteExpired;
    default:
      return SessionDenialCode.Obsolete;
  }
}

/**
 * Live sign-out: every open socket of a session closes when the session ends, on whichever
 * instance it ends. PostgreSQL notifies every instance of sessions that stop being live
 * ({@link SessionChangeListener}); the sockets of those sessions are checked against the store
 * and closed, or moved on to the successor of a rotation or same-user regeneration. Sessions
 * that reach their deadline are checked by the clock, and while notifications cannot arrive
 * every open socket is checked each {@link SWEEP_INTERVAL_MS}.
 */
@Injectable()
export class LiveSignOut implements OnApplicationShutdown {
  private readonly logger = new Logger(LiveSignOut.name);
  private readonly open = new OpenSockets();
  private stopListening: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly clock: Clock,
    private readonly listener: SessionChangeListener,
  ) {}

  /** How many sockets with a session are open on this instance. */
  get size(): number {
    return this.open.size;
  }

  /** Signs `socket` out live from now on. */
  track(socket: OpenSocket): void {
    this.open.add(socket);
    if (this.open.size === 1) this.start();
  }

  /** The socket closed: nothing more to watch. */
  untrack(socket: object): void {
    if (this.open.remove(socket) && this.open.size === 0) this.stop();
  }

  find(socket: object): OpenSocket | undefined {
    return this.open.find(socket);
  }

  /**
   * Where the socket's session is now: the live session it reaches (moved on after a rotation),
   * or `null` after closing the socket because the session ended.
   */
  async check(socket: OpenSocket): Promise<ReachedSession | null> {
    const { timings } = this.options;
    const next = await followChain(
      this.repository,
      socket.session.token,
      this.clock.now(),
      timings,
    );
    if (next !== 'signed-in' && 'record' in next) {
      this.open.follow(socket, next);
      return next;
    }
    this.end(socket, endCode(next));
    return null;
  }

  /** Checks many sockets: their sessions read in batches, a chain followed only where needed. */
  async checkAll(sockets: OpenSocket[]): Promise<void> {
    for (let start = 0; start < sockets.length; start += CHECK_BATCH) {
      const batch = sockets.slice(start, start + CHECK_BATCH);
      const records = await this.repository.findByHashes(
        batch.map((socket) => socket.session.record.idHash),
      );
      const now = this.clock.now();
      const moved: OpenSocket[] = [];
      for (const socket of batch) {
        const record = records.find((found) => found.idHash.equals(socket.session.record.idHash));
        if (record && assessSession(record, now, this.options.timings).state === 'active') {
          this.open.follow(socket, { token: socket.session.token, record });
        } else {
          moved.push(socket);
        }
      }
      await Promise.all(moved.map((socket) => this.check(socket)));
    }
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private end(socket: OpenSocket, code: SessionDenialCode): void {
    if (!this.open.remove(socket.socket)) return;
    if (this.open.size === 0) this.stop();
    try {
      socket.end(code);
    } catch (error) {
      this.logger.error(`Closing a signed-out socket failed: ${String(error)}`);
    }
  }

  private start(): void {
    this.stopListening = this.listener.subscribe((notice) => void this.onNotice(notice));
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  private stop(): void {
    this.stopListening?.();
    this.stopListening = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private async onNotice(notice: SessionChangeNotice): Promise<void> {
    // Other changes (a write, a touch) never end a session; the sweep covers outages.
    let sockets;
    if (notice.kind === 'resync') sockets = this.open.all();
    else if (notice.kind === 'ended') sockets = this.open.withHashes(notice.idHashes);
    else return;
    await this.guarded(() => this.checkAll(sockets));
  }

  /**
   * The clock's deadlines, and every socket while notifications cannot arrive. One sweep at a
   * time: a slow store delays the next instead of piling checks up.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const notified = this.listener.available && this.listener.listening;
      const now = this.clock.now().getTime();
      const sockets = notified
        ? this.open.all().filter((socket) => socket.session.record.expiresAt.getTime() <= now)
        : this.open.all();
      await this.guarded(() => this.checkAll(sockets));
    } finally {
      this.sweeping = false;
    }
  }

  /** A store that cannot answer leaves the sockets open until the next sweep finds it back. */
  private async guarded(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.warn(`Open sockets could not be checked: ${String(error)}`);
    }
  }
}
