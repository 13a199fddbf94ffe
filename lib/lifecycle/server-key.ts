import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../core/clock';
import { SERVER_KEY_BYTES } from '../core/pre-session-token';
import { SessionRepository } from '../storage/session.repository';

/** How long after a failed load of the key the next one may start. */
const RETRY_INTERVAL = 60_000;

/**
 * The deployment's server key, which signs pre-sessions (anonymous CSRF without a row). Read
 * from the database once, at start-up, after the tables are checked (`SessionStartup`); the
 * first instance to start on a database stores it. Until it is loaded (the database down at
 * start-up) CSRF tokens for anonymous visitors fall back to storing a session, and requests try
 * to load it again in the background, at most once a minute.
 */
@Injectable()
export class ServerKey {
  private readonly logger = new Logger('SessionModule');
  private key: Buffer | null = null;
  private loading: Promise<Buffer> | null = null;
  private lastAttempt = -Infinity;

  constructor(
    private readonly repository: SessionRepository,
    private readonly clock: Clock,
  ) {}

  /** The key, once loaded; `null` before. */
  get current(): Buffer | null {
    return this.key;
  }

  /** Loads the key (one statement pair, once); a failed load is tried again on the next call. */
  load(): Promise<Buffer> {
    this.lastAttempt = this.clock.now().getTime();
    this.loading ??= this.repository
      .serverKey(randomBytes(SERVER_KEY_BYTES), this.clock.now())
      .then(
        (key) => (this.key = key),
        (error: unknown) => {
          this.loading = null;
          throw error;
        },
      );
    return this.loading;
  }

  /** While the key is not loaded: starts another load if the last attempt is a minute old. */
  retryInBackground(): void {
    if (this.key || this.clock.now().getTime() - this.lastAttempt < RETRY_INTERVAL) return;
    // A failure is logged where the statement failed; the fallback goes on meanwhile.
    this.load().catch(() => undefined);
  }

  /**
   * The start-up load: a failure (the database went away since the tables were checked) is
   * logged once as a warning, and the key is loaded again by later requests.
   */
  async loadAtStartUp(): Promise<void> {
    try {
      await this.load();
    } catch {
      this.logger.warn(
        'The server key could not be read from the "session_server_key" table at start-up: ' +
          'until it can, each anonymous visitor that asks for a CSRF token gets a stored session.',
      );
    }
  }
}
