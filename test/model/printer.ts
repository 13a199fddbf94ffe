import type { BrowserRequest, Operation, Pick, Step } from './program';

/*
 * Steps as lines of a script, one per step, readable on their own:
 *   alice#1 POST /login userId=alice rememberMe
 *   clock +61s
 *   attacker replays alice#1's token from step 3: GET /private
 *   in parallel (gated): alice#1 POST /elevate | mallory#1 GET /private
 * The driver prints the values it resolved (the value written, whose token was replayed);
 * without them (`describeStep` of a step not run yet) the line says what was generated.
 */

/** What the driver chose when it ran a step, for the script. */
export interface Resolved {
  /** Per request of the step: the value written or item appended. */
  values?: (string | undefined)[];
  /** Per request of the step: the handle revoked, described. */
  handles?: (string | undefined)[];
  /** The replayed token or remember-me cookie, described. */
  source?: string;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}

export function describeOperation(operation: Operation, value?: string, handle?: string): string {
  switch (operation.kind) {
    case 'login':
      return [
        'POST /login',
        operation.userId ? `userId=${operation.userId}` : '',
        operation.rememberMe ? 'rememberMe' : '',
      ]
        .filter(Boolean)
        .join(' ');
    case 'read':
      return `GET /${operation.access}`;
    case 'write':
      return `POST /${operation.access}/data ${operation.key}${value ? `=${value}` : ''}`;
    case 'append':
      return `POST /public/list/cart${value ? ` item=${value}` : ''}`;
    case 'elevate':
      return 'POST /elevate';
    case 'password':
      return 'POST /password';
    case 'logout':
      return 'POST /logout';
    case 'sessions':
      return 'GET /sessions';
    case 'revokeDevice':
      return `DELETE /sessions/(${handle ?? `handle #${operation.pick}`})`;
    case 'revokeOthers':
      return 'POST /sessions/revoke-others';
    case 'logoutAll':
      return 'POST /logout-all';
  }
}

/** The marker of a response that never reached its browser. */
export const LOST = ' (response lost)';

function describeRequest(request: BrowserRequest, value?: string, handle?: string): string {
  const operation = describeOperation(request.operation, value, handle);
  return `${request.browser} ${operation}${request.lost ? LOST : ''}`;
}

function describePick(pick: Pick, what: string): string {
  if (pick === 'never-issued') return `a ${what} the server never issued`;
  return typeof pick === 'number'
    ? `${what} #${pick}`
    : `${pick.holder}'s ${what}${pick.nth ? ` ${pick.nth}` : ''} from step ${pick.step}`;
}

export function describeStep(step: Step, resolved: Resolved = {}): string {
  const value = (index: number) => resolved.values?.[index];
  const handle = (index: number) => resolved.handles?.[index];
  switch (step.kind) {
    case 'request':
      return describeRequest(step.request, value(0), handle(0));
    case 'parallel':
      return `in parallel${step.gated ? ' (gated)' : ''}: ${step.requests
        .map((request, index) => describeRequest(request, value(index), handle(index)))
        .join(' | ')}`;
    case 'clock':
      return `clock +${formatDuration(step.ms)}`;
    case 'gc':
      return 'gc';
    case 'close':
      return `${step.browser} closes the browser`;
    case 'steal':
      return `mallory#1 steals ${step.victim}'s cookies`;
    case 'replay':
      return `attacker replays ${resolved.source ?? describePick(step.token, 'token')}: ${describeOperation(step.operation, value(0), handle(0))}`;
    case 'replayRemember':
      return `attacker replays ${resolved.source ?? describePick(step.cookie, 'remember-me cookie')}: ${describeOperation(step.operation, value(0), handle(0))}`;
  }
}

/** A numbered script. */
export function formatScript(lines: string[]): string {
  const width = String(lines.length).length;
  return lines.map((line, index) => `${String(index + 1).padStart(width)}. ${line}`).join('\n');
}
