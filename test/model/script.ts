import { BROWSERS, BrowserName, User, USERS } from './config';
import { LOST } from './printer';
import type { BrowserRequest, Operation, Pick, Step } from './program';

/*
 * Reads a script (the lines `printer.ts` writes) back into steps, so that a shrunk failing
 * program becomes a regression test by pasting its lines. Written values (`a=w3`) are ignored:
 * the driver makes them again from the step numbers.
 */

const DURATION = /(\d+)(h|ms|m|s)/g;
const UNIT: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

function parseDuration(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION)) total += Number(amount) * UNIT[unit];
  return total;
}

function browser(name: string): BrowserName {
  if (!(BROWSERS as readonly string[]).includes(name)) throw new Error(`unknown browser ${name}`);
  return name as BrowserName;
}

/** `alice#1's token from step 3`, `attacker's remember-me cookie 2 from step 5`. */
function parsePick(text: string): Pick {
  const match = /^(\S+)'s (?:token|remember-me cookie|handle)(?: (\d+))? from step (\d+)$/.exec(
    text,
  );
  if (!match) return 'never-issued';
  return { holder: match[1], step: Number(match[3]), nth: match[2] ? Number(match[2]) : undefined };
}

export function parseOperation(text: string): Operation {
  const [method, path, ...rest] = text.trim().split(/\s+/);
  const route = `${method} ${path}`;
  if (route === 'POST /login') {
    const user = rest.find((part) => part.startsWith('userId='))?.slice('userId='.length);
    if (user && !(USERS as readonly string[]).includes(user))
      throw new Error(`unknown user ${user}`);
    return {
      kind: 'login',
      userId: user as User | undefined,
      rememberMe: rest.includes('rememberMe'),
    };
  }
  if (route === 'GET /public' || route === 'GET /private') {
    return { kind: 'read', access: path.slice(1) as 'public' | 'private' };
  }
  if (route === 'POST /public/data' || route === 'POST /private/data') {
    const key = rest[0]?.split('=')[0];
    if (key !== 'a' && key !== 'b') throw new Error(`unknown key in ${text}`);
    return { kind: 'write', access: path.split('/')[1] as 'public' | 'private', key };
  }
  if (route === 'POST /public/list/cart') return { kind: 'append' };
  if (method === 'DELETE' && path.startsWith('/sessions/(')) {
    const described = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    return { kind: 'revokeDevice', pick: parsePick(described) };
  }
  const simple: Record<string, Operation> = {
    'POST /elevate': { kind: 'elevate' },
    'POST /password': { kind: 'password' },
    'POST /logout': { kind: 'logout' },
    'GET /sessions': { kind: 'sessions' },
    'POST /sessions/revoke-others': { kind: 'revokeOthers' },
    'POST /logout-all': { kind: 'logoutAll' },
  };
  const operation = simple[route];
  if (!operation) throw new Error(`unknown request: ${text}`);
  return operation;
}

function parseRequest(text: string): BrowserRequest {
  const lost = text.trim().endsWith(LOST.trim());
  const [name, ...rest] = text.trim().replace(LOST.trim(), '').trim().split(' ');
  return { browser: browser(name), operation: parseOperation(rest.join(' ')), lost };
}

/** One line of a script (an optional `12. ` number in front is skipped). */
export function parseStep(line: string): Step {
  const text = line.trim().replace(/^\d+\.\s+/, '');
  let match: RegExpExecArray | null;
  if ((match = /^clock \+(\S+)$/.exec(text))) return { kind: 'clock', ms: parseDuration(match[1]) };
  if (text === 'gc') return { kind: 'gc' };
  if ((match = /^(\S+) closes the browser$/.exec(text))) {
    return { kind: 'close', browser: browser(match[1]) };
  }
  if ((match = /^mallory#1 steals (\S+)'s cookies$/.exec(text))) {
    return { kind: 'steal', victim: browser(match[1]) };
  }
  if ((match = /^in parallel( \(gated\))?: (.*)$/.exec(text))) {
    return {
      kind: 'parallel',
      gated: Boolean(match[1]),
      requests: match[2].split(' | ').map(parseRequest),
    };
  }
  if ((match = /^attacker replays (.*?): ([A-Z]+ \/.*)$/.exec(text))) {
    const [, source, operation] = match;
    return source.includes('remember-me cookie')
      ? { kind: 'replayRemember', cookie: parsePick(source), operation: parseOperation(operation) }
      : { kind: 'replay', token: parsePick(source), operation: parseOperation(operation) };
  }
  return { kind: 'request', request: parseRequest(text) };
}

/** A script of one step per line (blank lines skipped). */
export function parseScript(script: string): Step[] {
  return script
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(parseStep);
}
