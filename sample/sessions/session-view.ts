import type { SessionSummary } from 'nest-session-security';

/** One entry of `GET /api/sessions`: what a "your devices" list shows, never a token or hash. */
export interface SessionView {
  handle: string;
  current: boolean;
  /** A readable name such as "Firefox on Windows", from the user agent. */
  device: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/**
 * Picks the fields the API promises, so a field the package adds to its summaries later does
 * not reach clients unnoticed.
 */
export function toSessionView(summary: SessionSummary): SessionView {
  return {
    handle: summary.handle,
    current: summary.current,
    device: summary.device,
    createdAt: summary.createdAt,
    lastSeenAt: summary.lastSeenAt,
    ip: summary.ip,
    userAgent: summary.userAgent,
  };
}
