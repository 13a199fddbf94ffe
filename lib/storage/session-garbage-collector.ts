import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../core/clock';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { RememberMeRepository } from './remember-me.repository';
import { SessionRepository } from './session.repository';

/**
 * Deletes rows whose `expires_at` has passed: expired sessions, obsolete ones past retention,
 * revoked ones past retention. Runs every `gcInterval` (plus up to 10% jitter, so instances
 * started together do not scan together), in batches of `gcBatchSize`, each one short
 * statement that skips rows another instance holds (`FOR UPDATE SKIP LOCKED`): several
 * instances can run it at once, and no batch holds locks for long. Stops when the application
 * shuts down. Requests never depend on it: expiry is decided from time-stamps on every request.
 *
 * @example
 * // run once on demand (for example from a cron job with gcInterval: false):
 * const deleted = await app.get(SessionGarbageCollector).collect();
 */
@Injectable()
export class SessionGarbageCollector implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SessionGarbageCollector.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
    private readonly repository: SessionRepository,
    private readonly rememberMe: RememberMeRepository,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.gc.interval > 0) this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Deletes every session row and remember-me token past `expires_at`, batch by batch;
   * returns how many rows were deleted.
   */
  async collect(): Promise<number> {
    const run = this.collectBatches();
    this.running = run.catch(() => undefined);
    return run;
  }

  private async collectBatches(): Promise<number> {
    const { batchSize } = this.options.gc;
    let total = 0;
    for (const table of [this.repository, this.rememberMe]) {
      while (!this.stopped) {
        const deleted = await table.deleteExpired(this.clock.now(), batchSize);
        total += deleted;
        if (deleted < batchSize) break;
      }
    }
    return total;
  }

  private schedule(): void {
    const { interval } = this.options.gc;
    const delay = interval + Math.floor(Math.random() * interval * 0.1);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const deleted = await this.collect();
      if (deleted > 0) this.logger.log(`Deleted ${deleted} expired session rows`);
    } catch (error) {
      this.logger.warn(`Session garbage collection failed; will retry: ${String(error)}`);
    } finally {
      if (!this.stopped) this.schedule();
    }
  }
}
