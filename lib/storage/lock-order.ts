/**
 * The one order in which every statement that locks several session rows takes its locks: by
 * `id_hash`. Batches of writes and of touches, and revocations of a user's sessions, lock many
 * rows in one statement; taken in one order, no two of them can each hold a row the other
 * waits for. (A transaction of several statements, a sign-in under `maxSessionsPerUser`, can
 * still meet one of them in a cycle: PostgreSQL aborts one side, which runs again.)
 */
export const LOCK_ORDER = 'ORDER BY id_hash FOR UPDATE';

/**
 * A CTE named `locked`: the rows among the hashes `hashes` (an SQL `bytea[]` expression) that
 * meet `live`, locked in {@link LOCK_ORDER}. Join it to the rows the statement updates.
 */
export function lockedInOrder(hashes: string, live: string): string {
  return `locked AS (SELECT id_hash FROM "session" WHERE id_hash = ANY(${hashes}) AND ${live}
    ${LOCK_ORDER})`;
}
