/** The logger context of every security line of the sample, for filtering and alerting. */
export const SECURITY_LOG_CONTEXT = 'SecurityEvents';

/** The facts of one log line; `null` and `undefined` are left out. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

// Longer values (user agents, mostly) are cut: the line stays one screen wide and a client
// cannot fill the log with one header.
const MAX_VALUE_LENGTH = 200;
const BARE = /^[\w.:@/+-]+$/;
// What JSON.stringify leaves as is but some log viewers still break lines on.
const LINE_BREAKING = /[\u007f-\u009f\u2028\u2029]/g;

function quote(text: string): string {
  return JSON.stringify(text).replace(
    LINE_BREAKING,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * One line: `type key=value ...`. A value that is not plain (spaces, quotes, line breaks,
 * control characters) is written as a JSON string, so a user agent or a username sent by a
 * client can neither break the line nor forge another one (log injection).
 *
 * @example
 * logLine('csrf.rejected', { reason: 'missing-token', ip: '127.0.0.1', ua: 'curl/8.5' })
 * // 'csrf.rejected reason=missing-token ip=127.0.0.1 ua=curl/8.5'
 */
export function logLine(type: string, fields: LogFields): string {
  const parts = [type];
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    let text = String(value);
    if (text.length > MAX_VALUE_LENGTH) text = `${text.slice(0, MAX_VALUE_LENGTH)}...`;
    parts.push(`${key}=${BARE.test(text) ? text : quote(text)}`);
  }
  return parts.join(' ');
}
