import { IDLE_SESSION_TIMEOUT_MS } from './listen-timings';

/*
 * The server process behind the listening connection, told apart from any later process that
 * gets the same pid by its start time. A connection that the instance gave up (no answer in
 * time) may live on at the server for as long as TCP takes to notice, hours across a partition,
 * holding what it held: the presence lock of `copy-holders`, and a connection slot.
 */

/** A server process of the listening connection: its pid and its start, as text. */
export interface ListeningBackend {
  pid: number;
  /** `backend_start` in seconds since the epoch, with its microseconds (exact, as text). */
  started: string;
}

/**
 * The connection's server process, and, where the server has it (PostgreSQL 14 and later),
 * `idle_session_timeout` set for this connection to `$1` milliseconds: a process whose
 * instance has gone without a word (its heartbeat stopped) ends by itself then.
 */
export const IDENTIFY_LISTENING_BACKEND = `SELECT pid,
  extract(epoch FROM backend_start)::text AS started,
  (SELECT set_config(name, $1, false) FROM pg_settings
    WHERE name = 'idle_session_timeout') AS idle_session_timeout
  FROM pg_stat_activity WHERE pid = pg_backend_pid()`;

/** `IDLE_SESSION_TIMEOUT_MS` as `IDENTIFY_LISTENING_BACKEND`'s parameter. */
export const IDLE_SESSION_TIMEOUT_SETTING = String(IDLE_SESSION_TIMEOUT_MS);

/**
 * Ends the processes of this instance's earlier listening connections that still run (pids
 * `$1`, starts `$2`, pairwise): given up by the instance, they keep only the presence lock,
 * which would keep newcomers or the instance itself out.
 */
export const END_EARLIER_BACKENDS = `SELECT pg_terminate_backend(activity.pid)
  FROM pg_stat_activity AS activity
  JOIN unnest($1::int[], $2::text[]) AS earlier (pid, started)
    ON activity.pid = earlier.pid
   AND extract(epoch FROM activity.backend_start)::text = earlier.started`;

/** Earlier connections remembered to be ended: past this many, the oldest are forgotten. */
export const EARLIER_BACKENDS_LIMIT = 8;
