import type { FactoryProvider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '../core/clock';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';
import { PostgresSessionRepository } from './postgres-session.repository';
import { runStatement } from './run-statement';
import { SessionCache } from './session-cache';
import {
  ANNOUNCE_CHANGES,
  SESSION_CHANGED_CHANNEL,
  SESSION_CHANGED_TRIGGERS,
} from './session-change-signal';
import { SessionChangeListener } from './session-change-listener';
import { SessionRepository } from './session.repository';

/** Whether the `session` table the data source sees has every change trigger. */
async function changeTriggersPresent(source: DataSource): Promise<boolean> {
  const { rows } = await runStatement<{ found: number }>(
    source,
    `SELECT count(*)::int AS found FROM pg_trigger
     WHERE tgrelid = to_regclass('"session"') AND tgname = ANY($1)`,
    [SESSION_CHANGED_TRIGGERS],
    { preparedStatements: false },
  );
  return rows[0].found === SESSION_CHANGED_TRIGGERS.length;
}

/**
 * Provides the {@link SessionCache} (`null` when option `cache.enabled` is false, or the
 * sessions are not in the package's PostgreSQL repository): it listens from the start and is
 * handed to the repository, which answers reads from it.
 */
export function sessionCacheProvider(
  dataSource: string | undefined,
): FactoryProvider<SessionCache | null> {
  return {
    provide: SessionCache,
    useFactory: (
      options: ResolvedSessionOptions,
      clock: Clock,
      sessions: SessionRepository,
      listener: SessionChangeListener,
      source: DataSource | undefined,
    ) => {
      if (!options.cache.enabled || !source || !(sessions instanceof PostgresSessionRepository)) {
        return null;
      }
      if (!listener.available) return null;
      // From the listening connection; through the pool while it does not listen. To no one
      // while no other instance keeps copies: the cache then queues nothing.
      const cache = new SessionCache(
        options.cache,
        clock,
        async (payloads) => {
          if (await listener.announce(payloads)) return;
          await runStatement(source, ANNOUNCE_CHANGES, [SESSION_CHANGED_CHANNEL, payloads], {
            preparedStatements: false,
          });
        },
        () => !listener.alone,
      );
      listener.subscribe(
        (notice) => void cache.onNotice(notice, () => changeTriggersPresent(source)),
      );
      sessions.useCache(cache);
      return cache;
    },
    inject: [
      RESOLVED_SESSION_OPTIONS,
      Clock,
      SessionRepository,
      SessionChangeListener,
      { token: getDataSourceToken(dataSource), optional: true },
    ],
  };
}
