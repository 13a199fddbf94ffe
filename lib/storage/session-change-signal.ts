/*
 * The names of the signals PostgreSQL sends about stored sessions, as migrations
 * `SessionEndedNotification1764000000004` and `SessionChangedNotification1764000000005` create
 * them: the listener of every instance listens on the channels, and the start-up check looks for
 * the triggers.
 */

import { ASYNCHRONOUS_COMMIT } from './run-statement';

/**
 * The channel of ended sessions. Each notification's payload is the hexadecimal `id_hash` of one
 * session row (64 lower-case characters) that was revoked, made obsolete, or deleted while live.
 */
export const SESSION_ENDED_CHANNEL = 'nest_session_security_ended';

/**
 * The channel of changed sessions. Each notification's payload is the hexadecimal `id_hash` of
 * one session row whose data or deadlines an instance changed, followed by `:<version>`, the
 * row's version after the change (sent by that instance after its commit); or
 * {@link EVERY_SESSION} after a TRUNCATE (sent by a trigger).
 */
export const SESSION_CHANGED_CHANNEL = 'nest_session_security_changed';

/**
 * The statement that announces changes: each payload of `$2` (text[]) on the channel `$1`,
 * committed without waiting for a disk flush (a notification needs no durability: a database
 * crash drops every listening connection, and every instance then empties its cache).
 */
export const ANNOUNCE_CHANGES = `WITH ${ASYNCHRONOUS_COMMIT}
  SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload, commit_mode`;

/** The payload on {@link SESSION_CHANGED_CHANNEL} that stands for every row. */
export const EVERY_SESSION = '*';

/** The triggers on the `session` table that notify {@link SESSION_ENDED_CHANNEL}. */
export const SESSION_ENDED_TRIGGERS = ['session_ended_on_update', 'session_ended_on_delete'];

/** The trigger on the `session` table that notifies {@link SESSION_CHANGED_CHANNEL}. */
export const SESSION_CHANGED_TRIGGERS = ['session_changed_on_truncate'];
