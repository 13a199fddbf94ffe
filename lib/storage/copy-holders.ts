import { ANSWER_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS } from './listen-timings';

/*
 * Which instances keep copies of sessions (the session cache), told through PostgreSQL so that
 * an instance that is the only one needs to announce its writes to no one.
 *
 * Every instance whose cache is on holds, on its listening connection, a session-level shared
 * advisory lock (the key below) for as long as that connection lives: the lock is the instance's
 * presence, and PostgreSQL releases it when the connection ends, however it ends. An instance
 * that also gets the same lock exclusively knows that no other instance holds it, and while it
 * keeps it, no other can take it: it is alone, and its writes are announced to no one. A new
 * instance first says it is joining (`join` on the changes channel), then tries the shared lock,
 * and uses its cache only once it holds it. An instance that hears a `join` while alone stops
 * being alone (it announces again from that moment), and only then releases its exclusive lock:
 * so every write it committed without announcing was committed before the newcomer could hold
 * the lock, and the newcomer's cache reads nothing older.
 *
 * An instance that stops answering (its host gone, a partition) keeps its lock until PostgreSQL
 * ends its connection, which may take hours of TCP timeouts: a newcomer that is not let in
 * within {@link TAKEOVER_AFTER_MS} ends the holder's connection itself. That is safe because an
 * instance counts itself alone only while its connection answered within {@link ALONE_LEASE_MS}:
 * one that has not heard the `join` for that long has had no answer since, and announces again.
 */

/**
 * The lock's key, in the two-integer key space of PostgreSQL's advisory locks (which the
 * one-`bigint` form, used by the session limit, does not share): "nss" and "copy" in ASCII.
 */
const LOCK_CLASS = 7238515;
const LOCK_OBJECT = 1668247673;
const PRESENCE_LOCK = `${LOCK_CLASS}, ${LOCK_OBJECT}`;

/** The payload on the changes channel with which an instance says it is joining. */
export const JOIN_PAYLOAD = 'join';

/** The rows of `pg_locks` of the exclusive hold of the lock, in this database. */
const EXCLUSIVE_HOLD = `locktype = 'advisory' AND classid = ${LOCK_CLASS}
    AND objid = ${LOCK_OBJECT} AND objsubid = 2
    AND mode = 'ExclusiveLock' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Says this instance is joining (`$1` is the changes channel), and tries to hold the shared
 * lock (`joined`) and, that done, the exclusive one (`alone`: no other instance holds the
 * shared lock). `joined` is false while an instance that is alone has not yet heard the `join`:
 * `holder` is then that instance's server process.
 */
export const JOIN_COPY_HOLDERS = `SELECT pg_notify($1, '${JOIN_PAYLOAD}'),
  pg_try_advisory_lock_shared(${PRESENCE_LOCK}) AS joined,
  pg_try_advisory_lock(${PRESENCE_LOCK}) AS alone,
  (SELECT pid FROM pg_locks WHERE ${EXCLUSIVE_HOLD} AND pid <> pg_backend_pid() LIMIT 1) AS holder`;

/** Whether this instance, holding the shared lock, is the only one: it then holds both. */
export const TRY_ALONE = `SELECT pg_try_advisory_lock(${PRESENCE_LOCK}) AS alone`;

/**
 * Ends the connection of server process `$1` if it still holds the lock exclusively: an
 * instance that has not let a newcomer in (see {@link TAKEOVER_AFTER_MS}). Allowed to the role
 * that opened it, or to a member of `pg_signal_backend`; refused otherwise, and the newcomer
 * keeps waiting.
 */
export const END_SILENT_HOLDER = `SELECT pg_terminate_backend(pid) FROM pg_locks
  WHERE pid = $1 AND ${EXCLUSIVE_HOLD}`;

/**
 * How recently the listening connection must have been sent a statement that was answered for
 * the instance to count itself alone (from the sending: an answer with no `join` before it was
 * to a statement that began before any unheard `join` was committed): a heartbeat's interval
 * and its answer timeout, renewed by every heartbeat.
 */
export const ALONE_LEASE_MS = HEARTBEAT_INTERVAL_MS + ANSWER_TIMEOUT_MS;

/**
 * How long a newcomer waits to be let in, from the first answer that refused it (its `join`
 * was committed by then) while the same process held the lock, before it ends that process's
 * connection: past the holder's lease, with a second to spare.
 */
export const TAKEOVER_AFTER_MS = ALONE_LEASE_MS + 1_000;

/** Lets another instance take the shared lock: this one is no longer alone. */
export const STOP_BEING_ALONE = `SELECT pg_advisory_unlock(${PRESENCE_LOCK})`;

/**
 * The waits between attempts to join while an instance that is alone has not let go yet: it
 * does so as soon as it hears the `join`, a few milliseconds.
 */
export function joinRetryDelay(attempt: number): number {
  return Math.min(5 * 2 ** attempt, 1_000);
}
