import { randomBytes } from 'node:crypto';
import { SessionEvent, SessionGarbageCollector } from 'nest-session-security';
import { T0, TestApp } from '../support/test-app';
import { BROWSERS, BrowserName, ownerOf } from './config';
import { HttpClient } from './http';
import { Labels } from './labels';
import { describeStep, Resolved } from './printer';
import type { BrowserRequest, Operation, Step } from './program';
import type { ModelRequest } from './reference/exchange';
import type { ObservedResponse } from './reference/matching';
import { StoreSnapshot, tokenHash } from './reference/store-view';
import { cookieHeader, observe, routeOf, UNKNOWN_HANDLE } from './routes';
import { readStore } from './store-reader';

/*
 * Runs a program's steps against the real package over HTTP: browsers keep their cookies as
 * a browser does, the attacker replays copies, parallel steps are really in flight at once
 * (optionally held at the test app's gate until all have loaded their session), the clock is
 * the app's injected ManualClock. After each step it reads the stored rows, for the model and
 * the invariants.
 */

/**
 * How long gated requests may take to load their session and reach the gate. Seconds where
 * milliseconds are usual: on a machine loaded by other test runs 10 s once ran out.
 */
const GATE_WAIT_MS = 30_000;

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

/** One request of a step, as sent. */
export interface SentRequest {
  /** The browser, or `attacker` for a replay. */
  who: string;
  /** The browser whose cookies the answer updates (none for a replay or a lost response). */
  browser: BrowserName | null;
  operation: Operation;
  /** The request as the model serves it. */
  request: ModelRequest;
}

export interface StepRecord {
  /** 1-based number of the step in its program. */
  number: number;
  step: Step;
  /** The step as a line of the script. */
  line: string;
  sent: SentRequest[];
  answers: ObservedResponse[];
  snapshot: StoreSnapshot;
  /** The clock after the step, in milliseconds. */
  now: number;
  /** Session events emitted during the step. */
  events: SessionEvent[];
}

/** A step's requests as sent and their answers, in the same order (none for other steps). */
interface Exchange {
  sent: SentRequest[];
  answers: ObservedResponse[];
}

interface Jar {
  session: string | null;
  remember: string | null;
}

/** The browsers, the attacker and the app's clock, for one program after another. */
export class Driver {
  private jars = Driver.emptyJars();
  private readonly tokens = new Labels();
  private readonly rememberCookies = new Labels();
  private readonly handles = new Labels();
  private readonly http: HttpClient;
  private number = 0;
  private now = T0.getTime();
  private eventsSeen = 0;
  /** A reset or a step is under way: one program at a time drives the app. */
  private busy = false;
  /** The script of the program run last, one line per step run. */
  readonly script: string[] = [];

  constructor(readonly app: TestApp) {
    this.http = new HttpClient(app.url);
  }

  private static emptyJars(): Record<BrowserName, Jar> {
    return Object.fromEntries(
      BROWSERS.map((name) => [name, { session: null, remember: null }]),
    ) as Record<BrowserName, Jar>;
  }

  /** A fresh start for the next program: empty tables, the clock at T0, no cookies. */
  async reset(): Promise<void> {
    this.claim();
    try {
      await this.app.dataSource.query(`TRUNCATE "session", "remember_me_token"`);
    } finally {
      this.busy = false;
    }
    this.app.clock.set(T0);
    this.app.events.length = 0;
    this.eventsSeen = 0;
    this.now = T0.getTime();
    this.number = 0;
    this.jars = Driver.emptyJars();
    this.tokens.clear();
    this.rememberCookies.clear();
    this.handles.clear();
    this.script.length = 0;
  }

  close(): void {
    this.http.close();
  }

  /**
   * Two programs on one driver would share its tables, browsers and gate, and each would see
   * the other's rows as the package's doing: this says so at once instead.
   */
  private claim(): void {
    if (this.busy) throw new Error('two programs at once on one driver');
    this.busy = true;
  }

  async run(step: Step): Promise<StepRecord> {
    this.claim();
    try {
      return await this.runClaimed(step);
    } finally {
      this.busy = false;
    }
  }

  private async runClaimed(step: Step): Promise<StepRecord> {
    const number = ++this.number;
    const resolved: Resolved = {};
    let exchange: Exchange;
    try {
      exchange = await this.act(step, number, resolved);
    } catch (error) {
      // The step that failed belongs in the printed script, though it has no record.
      const line = describeStep(step, resolved);
      this.script.push(line);
      throw new Error(`step ${number} (${line}): ${(error as Error).message}`, { cause: error });
    }
    const { sent, answers } = exchange;
    const line = describeStep(step, resolved);
    this.script.push(line);
    const snapshot = await readStore(this.app.dataSource);
    this.label(number, sent, answers, snapshot);
    const events = this.app.events.slice(this.eventsSeen);
    this.eventsSeen = this.app.events.length;
    return { number, step, line, sent, answers, snapshot, now: this.now, events };
  }

  /** What the step does to the app: its requests with their answers, or the clock, the jars. */
  private async act(step: Step, number: number, resolved: Resolved): Promise<Exchange> {
    let sent: SentRequest[];
    switch (step.kind) {
      case 'request':
        sent = [this.fromBrowser(step.request, number, resolved, 0)];
        return { sent, answers: await this.sendAll(sent, false) };
      case 'parallel':
        sent = step.requests.map((request, index) =>
          this.fromBrowser(request, number, resolved, index),
        );
        return { sent, answers: await this.sendAll(sent, step.gated) };
      case 'replay':
      case 'replayRemember':
        sent = [this.replay(step, number, resolved)];
        return { sent, answers: await this.sendAll(sent, false) };
      case 'clock':
        this.app.clock.advance(step.ms);
        this.now += step.ms;
        break;
      case 'gc':
        await this.app.app.get(SessionGarbageCollector).collect();
        break;
      case 'close':
        this.jars[step.browser].session = null;
        break;
      case 'steal':
        this.jars['mallory#1'] = { ...this.jars[step.victim] };
        break;
    }
    return { sent: [], answers: [] };
  }

  /** A browser's request with the cookies it holds now. */
  private fromBrowser(
    { browser, operation, lost }: BrowserRequest,
    number: number,
    resolved: Resolved,
    index: number,
  ): SentRequest {
    const jar = this.jars[browser];
    const request = this.modelRequest(operation, ownerOf(browser), jar, number, resolved, index);
    return { who: browser, browser: lost ? null : browser, operation, request };
  }

  /** The attacker sends one kept value, and nothing else, once. */
  private replay(
    step: Extract<Step, { kind: 'replay' | 'replayRemember' }>,
    number: number,
    resolved: Resolved,
  ): SentRequest {
    let jar: Jar;
    if (step.kind === 'replay') {
      const token = this.tokens.pick(step.token);
      resolved.source = token
        ? this.tokens.describe(token, 'token')
        : 'a token the server never issued';
      jar = { session: token?.value ?? randomBytes(32).toString('base64url'), remember: null };
    } else {
      const cookie = this.rememberCookies.pick(step.cookie);
      resolved.source = cookie
        ? this.rememberCookies.describe(cookie, 'remember-me cookie')
        : 'a remember-me cookie the server never issued';
      jar = {
        session: null,
        remember:
          cookie?.value ??
          `${randomBytes(12).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
      };
    }
    const request = this.modelRequest(step.operation, 'mallory', jar, number, resolved, 0);
    return { who: 'attacker', browser: null, operation: step.operation, request };
  }

  private modelRequest(
    operation: Operation,
    owner: string,
    jar: Jar,
    number: number,
    resolved: Resolved,
    index: number,
  ): ModelRequest {
    const cookies = { token: jar.session, remember: jar.remember };
    const value = `${number}${index > 0 ? `.${index}` : ''}`;
    switch (operation.kind) {
      case 'login':
        return {
          route: 'login',
          ...cookies,
          userId: operation.userId ?? owner,
          rememberMe: operation.rememberMe,
        };
      case 'read':
        return { route: operation.access === 'public' ? 'readPublic' : 'readPrivate', ...cookies };
      case 'write':
        (resolved.values ??= [])[index] = `w${value}`;
        return {
          route: operation.access === 'public' ? 'writePublic' : 'writePrivate',
          ...cookies,
          key: operation.key,
          value: `w${value}`,
        };
      case 'append':
        (resolved.values ??= [])[index] = `i${value}`;
        return { route: 'append', ...cookies, key: 'cart', item: `i${value}` };
      case 'revokeDevice': {
        const handle = this.handles.pick(operation.pick);
        (resolved.handles ??= [])[index] = handle
          ? this.handles.describe(handle, 'handle')
          : 'a handle no session had';
        return { route: 'revokeDevice', ...cookies, handle: handle?.value ?? UNKNOWN_HANDLE };
      }
      case 'elevate':
      case 'password':
      case 'logout':
      case 'sessions':
      case 'revokeOthers':
      case 'logoutAll':
        return { route: operation.kind, ...cookies };
    }
  }

  /**
   * Sends the requests at once. Gated: requests on routes with a gate are held there after
   * their session was loaded until every one of them has arrived (or finished early, refused by
   * the guard), then let go together. Cookies go to the browsers in the order answers arrive.
   */
  private async sendAll(sent: SentRequest[], gated: boolean): Promise<ObservedResponse[]> {
    const answers: ObservedResponse[] = new Array(sent.length);
    let finishedAtGate = 0;
    const routes = sent.map(({ request }) => routeOf(request));
    const atGate = routes.map((route) => gated && sent.length > 1 && route.gated !== undefined);
    // The model holds the same requests at the gate.
    sent.forEach(({ request }, index) => (request.gated = atGate[index] || undefined));
    const pending = sent.map(async ({ request, browser }, index) => {
      const route = routes[index];
      // A request that failed on the way (a reset connection) will not reach the gate either:
      // counting it lets the step end at once with its own error, not a gate timeout.
      const response = await this.http
        .send(
          route.method,
          atGate[index] ? route.gated! : route.path,
          cookieHeader(request),
          route.body,
        )
        .finally(() => {
          if (atGate[index]) finishedAtGate++;
        });
      const answer = observe(response.status, response.setCookies, response.body);
      answers[index] = answer;
      if (browser) this.keepCookies(browser, answer);
    });
    const expected = atGate.filter(Boolean).length;
    if (expected > 0 && !(await this.openGateWhenAllArrived(expected, () => finishedAtGate))) {
      const database = await this.busyBackends();
      const waiting = this.gate.waiting.length;
      await this.releaseUntilAnswered(pending);
      throw new Error(
        `requests did not reach the gate within ${GATE_WAIT_MS / 1000} s: ` +
          `${waiting} of ${expected} waited there, ${finishedAtGate} had finished; ` +
          `busy database backends: ${database}`,
      );
    }
    await Promise.all(pending);
    return answers;
  }

  /** Whether the gated requests all arrived (or finished early) in time; if so, lets them go. */
  private async openGateWhenAllArrived(expected: number, finished: () => number): Promise<boolean> {
    const deadline = Date.now() + GATE_WAIT_MS;
    while (this.gate.waiting.length + finished() < expected) {
      if (Date.now() > deadline) return false;
      await pause();
    }
    this.gate.open();
    return true;
  }

  /**
   * A step given up on lets its requests go, those that reach the gate late included, and
   * waits for their answers: a request left held would count as one of the next gated step's,
   * and write its rows into the next program's tables when that step opens the gate.
   */
  private async releaseUntilAnswered(pending: Promise<void>[]): Promise<void> {
    let answered = false;
    const all = Promise.allSettled(pending).then(() => (answered = true));
    while (!answered) {
      this.gate.open();
      await pause();
    }
    await all;
  }

  /** What the database's other backends were doing, for a step that timed out at the gate. */
  private async busyBackends(): Promise<string> {
    const rows: { state: string; wait: string | null; query: string }[] =
      await this.app.dataSource.query(
        `SELECT state, wait_event_type || ':' || wait_event AS wait, left(query, 160) AS query
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
      );
    return JSON.stringify(rows);
  }

  private get gate(): { waiting: unknown[]; open(): void } {
    return this.app.gate as unknown as { waiting: unknown[]; open(): void };
  }

  private keepCookies(browser: BrowserName, answer: ObservedResponse): void {
    const jar = this.jars[browser];
    if (answer.cookie !== null) jar.session = answer.cookie === 'clear' ? null : answer.cookie;
    if (answer.remember !== null)
      jar.remember = answer.remember === 'clear' ? null : answer.remember;
  }

  /** Names what the step handed out, for replays, revocations and the script. */
  private label(
    number: number,
    sent: SentRequest[],
    answers: ObservedResponse[],
    snapshot: StoreSnapshot,
  ): void {
    const byHash = new Map(snapshot.rows.map((row) => [row.hash, row]));
    answers.forEach((answer, index) => {
      const { who } = sent[index];
      const body = answer.body as { handle?: unknown } | unknown[] | null;
      if (typeof answer.cookie === 'string' && answer.cookie !== 'clear') {
        this.tokens.add(answer.cookie, who, number);
        const row = byHash.get(tokenHash(answer.cookie));
        if (row) this.handles.add(row.handle, who, number);
      }
      if (typeof answer.remember === 'string' && answer.remember !== 'clear') {
        this.rememberCookies.add(answer.remember, who, number);
      }
      if (body && !Array.isArray(body) && typeof body.handle === 'string') {
        this.handles.add(body.handle, who, number);
      }
      if (Array.isArray(body)) {
        for (const entry of body as { handle?: unknown }[]) {
          if (typeof entry.handle === 'string') this.handles.add(entry.handle, who, number);
        }
      }
    });
  }
}
