/*
 * The names of the signal PostgreSQL sends when a session stops being live, as migration
 * `SessionEndedNotification1764000000004` creates it: the listener of every instance listens on
 * the channel, and the start-up check looks for the triggers.
 */

/**
 * The `LISTEN` / `NOTIFY` channel. Each notification's payload is the hexadecimal `id_hash` of one
 * session row (64 lower-case characters) that was revoked, made obsolete, or deleted while live.
 */
export const SESSION_ENDED_CHANNEL = 'nest_session_security_ended';

/** The triggers on the `session` table that notify {@link SESSION_ENDED_CHANNEL}. */
export const SESSION_ENDED_TRIGGERS = ['session_ended_on_update', 'session_ended_on_delete'];
