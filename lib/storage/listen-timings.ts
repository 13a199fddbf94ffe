/*
 * The timings of the connection that listens for ended sessions (`SessionChangeListener`). While
 * it is down, notifications are lost and open sockets are checked by sweeping instead, so a loss
 * is to be noticed and repaired within seconds.
 */

/**
 * The first retry after the connection is lost: soon, since the usual loss is one connection
 * killed (a server restart of one backend, a pooler recycling it) with the server still up.
 */
export const FIRST_RECONNECT_DELAY_MS = 100;

/** The longest wait between two attempts while the database stays away. */
export const MAX_RECONNECT_DELAY_MS = 3_000;

/**
 * How often the idle listening connection is asked `SELECT 1`. A connection that died without
 * a word (a network partition, a NAT that forgot it) is otherwise noticed only by TCP, after
 * minutes, and notifications sent meanwhile are lost.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** How long `LISTEN` or a heartbeat may take before the connection counts as lost. */
export const ANSWER_TIMEOUT_MS = 2_000;

/**
 * How long the listening connection's server process waits for its next statement, or for its
 * client to acknowledge what it sent, before ending itself (`idle_session_timeout` and
 * `tcp_user_timeout`, see `listening-backend`): seven heartbeats and more, so that only an
 * instance that has gone (a crash, a partition) loses it, and its presence lock with it, in
 * seconds rather than after TCP's minutes or hours.
 */
export const DEAD_CLIENT_TIMEOUT_MS = 15_000;

/** How long opening the connection may take when the data source sets no connect timeout. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The wait before the next attempt after `failures` attempts failed in a row (0 after the
 * connection was lost while listening): doubling from {@link FIRST_RECONNECT_DELAY_MS} up to
 * {@link MAX_RECONNECT_DELAY_MS}.
 */
export function reconnectDelay(failures: number): number {
  return Math.min(FIRST_RECONNECT_DELAY_MS * 2 ** Math.max(0, failures), MAX_RECONNECT_DELAY_MS);
}
