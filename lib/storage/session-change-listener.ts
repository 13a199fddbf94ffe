import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Client, Notification, QueryConfig } from 'pg';
import {
  ANNOUNCE_CHANGES,
  EVERY_SESSION,
  SESSION_CHANGED_CHANNEL,
  SESSION_ENDED_CHANNEL,
} from './session-change-signal';
import { LISTEN_CLIENTS, ListenClientFactory } from './listen-clients';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import {
  ALONE_LEASE_MS,
  END_SILENT_HOLDER,
  JOIN_COPY_HOLDERS,
  JOIN_PAYLOAD,
  STOP_BEING_ALONE,
  TAKEOVER_AFTER_MS,
  TRY_ALONE,
  joinRetryDelay,
} from './copy-holders';
import { ANSWER_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, reconnectDelay } from './listen-timings';
import { IDENTIFY_LISTENING_BACKEND, DEAD_CLIENT_TIMEOUT_SETTING } from './listening-backend';

export { SESSION_CHANGED_CHANNEL, SESSION_ENDED_CHANNEL };

/**
 * What the listener tells its subscribers:
 * - `ended`: these session rows stopped being live (revoked, made obsolete, or deleted while
 *   live), on any instance. `idHashes` are the rows' whole `id_hash` in lower-case hexadecimal
 *   (64 characters), as the trigger sends them; one notice may carry several.
 * - `changed`: an instance changed the data or deadlines of these session rows; each hash is
 *   followed by `:<version>`, the row's version after the change.
 * - `cleared`: the table was truncated: every row is gone.
 * - `resync`: the listener has just started listening, the first time or after the connection
 *   was lost; notifications sent before may have been missed, so check everything.
 * - `joined`: after a `resync`, where the session cache is on: the other instances now know
 *   this one keeps copies, and announce their changes (see `copy-holders`); the cache may be
 *   used from now on. Never sent while another instance that was alone does not let go.
 * - `lost`: the connection failed; nothing is heard until the next `resync`.
 */
export type SessionChangeNotice =
  | { kind: 'ended' | 'changed'; idHashes: string[] }
  | { kind: 'cleared' | 'resync' | 'joined' | 'lost' };

export type SessionChangeSubscriber = (notice: SessionChangeNotice) => void;

/** What `JOIN_COPY_HOLDERS` answers. */
interface JoinAnswer {
  joined: boolean;
  alone: boolean;
  holder: number | null;
}

/** A payload the ended trigger sends: one row's `id_hash` in hexadecimal. */
const ID_HASH_HEX = /^[0-9a-f]{64}$/;

/** A change an instance announces: the `id_hash`, and the row's version after the change. */
const CHANGE = /^[0-9a-f]{64}(?::[0-9]{1,15})?$/;

/** {@link ANNOUNCE_CHANGES} as a named statement: parsed once per listening connection. */
const ANNOUNCE: QueryConfig = { name: 'nss_announce_changes', text: ANNOUNCE_CHANGES };

/** How long a clean close may take before the socket is destroyed instead. */
const CLOSE_TIMEOUT_MS = 1_000;

/** `work`, or a rejection once `ms` have passed without it settling. */
function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  // A failure after the deadline won has nothing left to report.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Closes a connection that is broken or no longer wanted, without waiting for the server. */
function destroy(client: Client): void {
  (client.connection as Client['connection'] | undefined)?.stream?.destroy();
}

/** Says goodbye to the server when it answers in time; destroys the connection otherwise. */
async function closeGracefully(client: Client): Promise<void> {
  try {
    await withinDeadline(client.end(), CLOSE_TIMEOUT_MS);
  } catch {
    destroy(client);
  }
}

/**
 * Whether `error` is the server's answer to a statement (pg's `DatabaseError`, which carries a
 * severity) rather than the connection failing or a deadline passing.
 */
function refusedByServer(error: unknown): boolean {
  return typeof (error as { severity?: unknown } | null)?.severity === 'string';
}

/** Resolves after `ms`, without keeping the process alive. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function reasonOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const parts = [code, message].filter((part) => typeof part === 'string' && part !== '');
  return parts.length > 0 ? parts.join(': ') : String(error);
}

/**
 * Hears from PostgreSQL which sessions changed or stopped being live, on any instance of the
 * application: one dedicated connection per instance runs `LISTEN` on
 * {@link SESSION_ENDED_CHANNEL} and {@link SESSION_CHANGED_CHANNEL}, which the triggers of
 * migrations `SessionEndedNotification1764000000004` and
 * `SessionChangedNotification1764000000005` notify. It listens only while
 * someone subscribes (the first subscriber opens the connection, the last one to leave closes
 * it) and stops for good when the application shuts down.
 *
 * A connection that fails (an error, the server closing it, a heartbeat `SELECT 1` every
 * {@link HEARTBEAT_INTERVAL_MS} or an {@link announce} that fails or takes longer than
 * {@link ANSWER_TIMEOUT_MS}) is dropped and opened again after {@link reconnectDelay} (100 ms,
 * doubling up to 3 s); each successful `LISTEN` is followed by a `resync` notice. One warning is
 * logged per outage.
 *
 * Where the sessions are not stored by the package's PostgreSQL repository, it is not
 * {@link available}: nothing ever arrives, and subscribers must check open sockets themselves.
 *
 * @example
 * const unsubscribe = listener.subscribe((notice) => {
 *   if (notice.kind === 'resync') checkEverySocket();
 *   else closeSocketsOf(notice.idHashes);
 * });
 */
@Injectable()
export class SessionChangeListener implements OnModuleDestroy {
  private readonly logger = new Logger(SessionChangeListener.name);
  /** One entry per call of `subscribe`, so the same function may subscribe twice. */
  private readonly subscribers = new Set<{ notify: SessionChangeSubscriber }>();
  /** The connection being opened or listening; none while stopped or waiting to retry. */
  private client: Client | undefined;
  /** The server process of `client`, once it answered. */
  private clientPid: number | undefined;
  private listeningNow = false;
  /** Whether this instance keeps copies of sessions: it then takes part in `copy-holders`. */
  private readonly keepsCopies: boolean;
  /** Holding the presence lock shared: other instances know this one keeps copies. */
  private joinedNow = false;
  /** Holding the presence lock exclusively: no other instance keeps copies. */
  private aloneNow = false;
  /** When the connection last answered (`performance.now()`): the alone lease's start. */
  private answeredAt = 0;
  /** The holder whose ending was last refused: one warning per holder. */
  private refusedHolder: number | undefined;
  /** `join`s heard from other instances, and that count at the last heartbeat. */
  private joinsHeard = 0;
  private joinsAtLastHeartbeat = 0;
  /** The next heartbeat or reconnection. */
  private timer: NodeJS.Timeout | undefined;
  /** Attempts that failed in a row since the connection last listened: the backoff's exponent. */
  private failures = 0;
  /** Whether the current outage was reported: one warning per outage, not one per retry. */
  private outageReported = false;
  /** Hashes received and not yet delivered: those that arrive together go out in one notice. */
  private received = { ended: [] as string[], changed: [] as string[] };
  private deliveryQueued = false;
  private shutDown = false;

  constructor(
    /** `null` when the sessions are not in the package's PostgreSQL store. */
    @Inject(LISTEN_CLIENTS) private readonly openClient: ListenClientFactory | null,
    @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions,
  ) {
    this.keepsCopies = options.cache.enabled;
  }

  /** Whether notices can arrive at all: false for a session store of the application's own. */
  get available(): boolean {
    return this.openClient !== null;
  }

  /** True only while `LISTEN` is in effect on a connection that answered its last heartbeat. */
  get listening(): boolean {
    return this.listeningNow;
  }

  /** The PostgreSQL backend process of the listening connection (`pg_stat_activity.pid`). */
  get backendPid(): number | undefined {
    return this.listeningNow ? this.clientPid : undefined;
  }

  /**
   * True while this instance is the only one that keeps copies of sessions, told by the
   * presence lock (see `copy-holders`): its changes need no announcement then. False whenever
   * it does not listen, from the moment it hears another instance joining, and once its
   * connection has not answered for `ALONE_LEASE_MS`.
   */
  get alone(): boolean {
    return this.aloneNow && performance.now() - this.answeredAt < ALONE_LEASE_MS;
  }

  /**
   * Sends `payloads` on {@link SESSION_CHANGED_CHANNEL} from the listening connection, so that
   * an instance's announcements take no connection from the application's pool (where requests
   * would wait for it). `false` when it does not listen now, or the statement failed or got no
   * answer within {@link ANSWER_TIMEOUT_MS} (the connection is then dropped and opened again, as
   * for a failed heartbeat): the caller sends them another way. The listener passes on none of
   * the notifications its own connection sent: they tell of changes this instance made, and
   * applied before announcing them.
   */
  async announce(payloads: string[]): Promise<boolean> {
    const client = this.client;
    if (!client || !this.listening) return false;
    try {
      await withinDeadline(
        client.query(ANNOUNCE, [SESSION_CHANGED_CHANNEL, payloads]),
        ANSWER_TIMEOUT_MS,
      );
      return true;
    } catch (error) {
      // As for a heartbeat: a connection that does not answer may hear nothing either.
      this.lose(client, error);
      return false;
    }
  }

  /**
   * Calls `subscriber` with every notice from now on; returns the function that ends the
   * subscription. The first subscriber opens the connection and hears the `resync` that follows
   * its `LISTEN`; one that joins while the listener listens hears the next one only. A subscriber
   * that throws is logged and the others are still called.
   */
  subscribe(subscriber: SessionChangeSubscriber): () => void {
    const entry = { notify: subscriber };
    this.subscribers.add(entry);
    if (this.subscribers.size === 1 && !this.shutDown) void this.connect();
    return () => {
      if (this.subscribers.delete(entry) && this.subscribers.size === 0) void this.stop();
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.shutDown = true;
    await this.stop();
  }

  private async connect(): Promise<void> {
    if (!this.openClient) return;
    let client: Client;
    try {
      client = this.openClient();
    } catch (error) {
      this.retryLater(error);
      return;
    }
    this.client = client;
    client.on('notification', (message) => {
      if (client === this.client) this.receive(message);
    });
    client.on('error', (error) => this.lose(client, error));
    client.on('end', () => this.lose(client, new Error('the server closed the connection')));
    try {
      await client.connect();
      await withinDeadline(
        client.query(`LISTEN ${SESSION_ENDED_CHANNEL}; LISTEN ${SESSION_CHANGED_CHANNEL}`),
        ANSWER_TIMEOUT_MS,
      );
      const { rows } = await withinDeadline(
        client.query<{ pid: number }>(IDENTIFY_LISTENING_BACKEND, [DEAD_CLIENT_TIMEOUT_SETTING]),
        ANSWER_TIMEOUT_MS,
      );
      this.clientPid = rows[0].pid;
    } catch (error) {
      this.lose(client, error);
      return;
    }
    // Stopped, or lost and replaced, while the statements ran.
    if (client !== this.client) return;
    this.listeningNow = true;
    this.failures = 0;
    if (this.outageReported) {
      this.outageReported = false;
      this.logger.log('Listening for ended sessions again');
    }
    this.scheduleHeartbeat(client);
    this.emit({ kind: 'resync' });
    if (this.keepsCopies) void this.join(client);
  }

  /**
   * Holds the presence lock shared, trying again while an instance that was alone lets go
   * (see `copy-holders`), and then says `joined`; holds it exclusively too when no other
   * instance holds it. Ends the connection of a holder that has not let go within
   * `TAKEOVER_AFTER_MS`. Gives up only with the connection: listening (and live sign-out) does
   * not wait for it.
   */
  private async join(client: Client): Promise<void> {
    /** The process that last refused this instance, and since when (its first refusal). */
    let holder: { pid: number | null; since: number } | undefined;
    let failureReported = false;
    try {
      for (let attempt = 0; client === this.client; attempt++) {
        const joinsBefore = this.joinsHeard;
        let answer: JoinAnswer;
        try {
          ({
            rows: [answer],
          } = await this.ask<JoinAnswer>(client, JOIN_COPY_HOLDERS, [SESSION_CHANGED_CHANNEL]));
        } catch (error) {
          // The server refused the statement (a full notification queue, a revoked function):
          // the connection still listens; try again on it rather than open another.
          if (!refusedByServer(error)) throw error;
          if (!failureReported) {
            failureReported = true;
            this.logger.warn(
              `The session cache cannot take its lock (${reasonOf(error)}); it stays unused ` +
                'until it can.',
            );
          }
          await pause(joinRetryDelay(attempt));
          continue;
        }
        if (client !== this.client) return;
        if (answer.joined) {
          this.joinedNow = true;
          this.becomeAloneIf(client, answer.alone, joinsBefore);
          this.emit({ kind: 'joined' });
          return;
        }
        const pid = answer.holder;
        if (holder?.pid !== pid) holder = { pid, since: performance.now() };
        if (pid !== null && performance.now() - holder.since > TAKEOVER_AFTER_MS) {
          // Refused, the next try comes after as long again.
          holder.since = performance.now();
          await this.endSilentHolder(client, pid);
        }
        await pause(joinRetryDelay(attempt));
      }
    } catch (error) {
      this.lose(client, error);
    }
  }

  /**
   * Ends the connection of `pid`, the holder that does not let go, where the role may; a
   * refusal is logged (once per holder), and the connection kept.
   */
  private async endSilentHolder(client: Client, pid: number): Promise<void> {
    try {
      await this.ask(client, END_SILENT_HOLDER, [pid]);
    } catch (error) {
      if (!refusedByServer(error)) throw error;
      if (this.refusedHolder === pid) return;
      this.refusedHolder = pid;
      this.logger.warn(
        `Another instance holds the session cache's lock and does not answer; ending its ` +
          `connection was refused (${reasonOf(error)}). The session cache stays unused until ` +
          'PostgreSQL ends that connection.',
      );
    }
  }

  /**
   * `statement` on the listening connection, within the answer timeout; renews the lease from
   * the moment it was sent (see `ALONE_LEASE_MS`).
   */
  private async ask<R extends object>(
    client: Client,
    statement: string,
    values?: unknown[],
  ): Promise<{ rows: R[] }> {
    const sentAt = performance.now();
    const result = await withinDeadline(client.query<R>(statement, values), ANSWER_TIMEOUT_MS);
    this.answeredAt = sentAt;
    return result;
  }

  /**
   * The exclusive lock was just `granted` or not: alone, unless an instance said it was joining
   * since the statement was sent (it may have tried the shared lock in between, and failed).
   */
  private becomeAloneIf(client: Client, granted: boolean, joinsBefore: number): void {
    if (!granted) return;
    if (this.joinsHeard === joinsBefore) this.aloneNow = true;
    else this.stopBeingAlone(client);
  }

  /** Lets the joining instance take the shared lock; this one announces from now on. */
  private stopBeingAlone(client: Client): void {
    this.aloneNow = false;
    withinDeadline(client.query(STOP_BEING_ALONE), ANSWER_TIMEOUT_MS).catch((error: unknown) =>
      this.lose(client, error),
    );
  }

  private scheduleHeartbeat(client: Client): void {
    this.timer = setTimeout(() => void this.heartbeat(client), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * `SELECT 1`, or, for an instance that keeps copies and is not alone, whether it is alone now
   * (not in the first heartbeat after another instance joined: that one may not hold its lock
   * yet).
   */
  private async heartbeat(client: Client): Promise<void> {
    this.timer = undefined;
    const joinsBefore = this.joinsHeard;
    const tryAlone = this.joinedNow && !this.aloneNow && joinsBefore === this.joinsAtLastHeartbeat;
    this.joinsAtLastHeartbeat = joinsBefore;
    try {
      const { rows } = await this.ask<{ alone?: boolean }>(
        client,
        tryAlone ? TRY_ALONE : 'SELECT 1',
      );
      if (tryAlone && client === this.client) {
        this.becomeAloneIf(client, rows[0].alone === true, joinsBefore);
      }
    } catch (error) {
      this.lose(client, error);
      return;
    }
    if (client === this.client) this.scheduleHeartbeat(client);
  }

  /** The connection failed: drop it and try again. */
  private lose(client: Client, error: unknown): void {
    if (client !== this.client) return;
    const wasListening = this.listening;
    this.forgetConnection();
    clearTimeout(this.timer);
    destroy(client);
    this.received = { ended: [], changed: [] };
    if (wasListening) this.emit({ kind: 'lost' });
    this.retryLater(error);
  }

  /** The connection and what held only on it: listening, and the presence lock. */
  private forgetConnection(): void {
    this.client = undefined;
    this.clientPid = undefined;
    this.listeningNow = false;
    this.joinedNow = false;
    this.aloneNow = false;
  }

  /** Reports the outage once, and opens a new connection after the backoff's delay. */
  private retryLater(error: unknown): void {
    if (!this.outageReported) {
      this.outageReported = true;
      this.logger.warn(
        `The connection that listens for ended sessions failed (${reasonOf(error)}); reconnecting. ` +
          'Sessions that end meanwhile are not notified: open sockets are checked instead.',
      );
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, reconnectDelay(this.failures++));
    this.timer.unref();
  }

  private async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    const wasListening = this.listening;
    this.forgetConnection();
    this.failures = 0;
    this.outageReported = false;
    this.received = { ended: [], changed: [] };
    if (wasListening) this.emit({ kind: 'lost' });
    if (client) await closeGracefully(client);
  }

  /**
   * Keeps a well-formed hash for delivery at the end of the current task: pg emits the
   * notifications of one network read one after the other, and they go out in one notice per
   * channel. A truncation goes out after what came before it. Anything else on the
   * channels (anyone connected to the database may `NOTIFY`) is ignored.
   */
  private receive(message: Notification): void {
    const payload = message.payload ?? '';
    const channel =
      message.channel === SESSION_ENDED_CHANNEL
        ? 'ended'
        : message.channel === SESSION_CHANGED_CHANNEL
          ? 'changed'
          : undefined;
    if (!channel) return;
    // This instance's own announcements (see `announce`) and `join`.
    if (channel === 'changed' && message.processId === this.clientPid) return;
    if (channel === 'changed' && payload === JOIN_PAYLOAD) {
      this.joinsHeard++;
      if (this.aloneNow && this.client) this.stopBeingAlone(this.client);
      return;
    }
    if ((channel === 'ended' ? ID_HASH_HEX : CHANGE).test(payload)) {
      this.received[channel].push(payload);
      if (!this.deliveryQueued) {
        this.deliveryQueued = true;
        queueMicrotask(() => this.deliver());
      }
      return;
    }
    if (channel === 'changed' && payload === EVERY_SESSION) {
      this.deliver();
      this.emit({ kind: 'cleared' });
    }
  }

  private deliver(): void {
    this.deliveryQueued = false;
    const { ended, changed } = this.received;
    this.received = { ended: [], changed: [] };
    // Changes first: a cache drops its copy before anyone re-reads an ended session.
    if (changed.length > 0) this.emit({ kind: 'changed', idHashes: changed });
    if (ended.length > 0) this.emit({ kind: 'ended', idHashes: ended });
  }

  private emit(notice: SessionChangeNotice): void {
    for (const { notify } of [...this.subscribers]) {
      try {
        notify(notice);
      } catch (error) {
        this.logger.error(`A subscriber to ended sessions failed: ${reasonOf(error)}`);
      }
    }
  }
}
