import { DEAD_CLIENT_TIMEOUT_MS } from './listen-timings';

/*
 * What the listening connection asks of its server process when it opens. A connection whose
 * instance has gone without a word (a crash, a partition) lives on at the server for as long as
 * TCP takes to notice, hours across a partition, holding what it held: the presence lock of
 * `copy-holders` (which keeps every other instance announcing its writes) and a connection slot.
 */

/**
 * The connection's server process id; and, on a server process of its own (PostgreSQL's
 * `client backend`: not PGlite's single `standalone backend`, which every connection shares and
 * which must never end), for this connection only:
 * - `idle_session_timeout` (PostgreSQL 14 and later): the process ends when no statement has
 *   come for `$1` milliseconds, which heartbeats prevent while the instance lives;
 * - `tcp_user_timeout` (PostgreSQL 12 and later, TCP connections): it ends when data it sent
 *   has gone unacknowledged for as long, as when it is stuck sending notifications to a client
 *   that is gone (it is not idle then).
 * A setting the server does not know is left out.
 */
export const IDENTIFY_LISTENING_BACKEND = `SELECT pid,
  (SELECT count(set_config(name, $1, false))::int FROM pg_settings
    WHERE name IN ('idle_session_timeout', 'tcp_user_timeout')
      AND backend_type = 'client backend') AS settings
  FROM pg_stat_activity WHERE pid = pg_backend_pid()`;

/** {@link DEAD_CLIENT_TIMEOUT_MS} as `IDENTIFY_LISTENING_BACKEND`'s parameter. */
export const DEAD_CLIENT_TIMEOUT_SETTING = String(DEAD_CLIENT_TIMEOUT_MS);
