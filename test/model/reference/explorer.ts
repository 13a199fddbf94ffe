import { ModelRequest, Outcome } from './exchange';
import { serve } from './request';
import { Simulation, WaitsForLock } from './regeneration';
import { cloneStore, Store } from './store';

/*
 * The outcomes the rules allow for a group of requests served at once. Each request is a
 * generator that yields where another request may run in between; where the rules leave a
 * choice (which of equally old sessions an eviction takes), every option is a branch too. A
 * simulation takes the first option of each decision its script does not cover and leaves the
 * others as scripts of their own, replayed from the start (generators cannot be copied), depth
 * first: each simulation is one whole branch.
 *
 * Two grains: coarse, where a request's load and its handler are each one step (what most
 * parallel requests show), and finer ones, where requests may also interleave at a few points
 * between the statements of a handler, a restore or a revocation. The model tries the coarse
 * grain first.
 */

/** Thrown when a request ends with an outcome the package did not give: no need to go on. */
class Pruned extends Error {}

class ScriptedSimulation implements Simulation {
  private position = 0;
  /** The scripts of the options this simulation did not take, shallowest decision first. */
  readonly untaken: number[][] = [];
  private readonly script: number[];
  private readonly counters = { t: 0, h: 0, s: 0, v: 0 };
  readonly signingIn = new Set<string>();
  readonly fine: boolean;

  constructor(
    readonly store: Store,
    public breaks: number,
    script: number[],
  ) {
    this.fine = breaks > 0;
    this.script = [...script];
  }

  choose(count: number): number {
    if (count <= 1) return 0;
    if (this.position < this.script.length) return this.script[this.position++];
    // A new decision: this simulation takes the first option, the others run later; the
    // last pushed (option 1) is the next taken.
    const taken = this.script.slice(0, this.position);
    for (let option = count - 1; option >= 1; option--) this.untaken.push([...taken, option]);
    this.script.push(0);
    this.position++;
    return 0;
  }

  fresh(kind: 't' | 'h' | 's' | 'v'): string {
    return `?${kind}${++this.counters[kind]}`;
  }
}

/** One way the group can go: the store after it and each request's outcome. */
export interface Branch {
  store: Store;
  outcomes: Outcome[];
}

export interface Exploration {
  /** How many points between statements of one step may let another request in. */
  breaks: number;
  /** Whether request `index` may have ended so; a branch where it cannot is dropped at once. */
  possible(index: number, outcome: Outcome): boolean;
  /** Each complete branch; `true` stops the exploration. */
  visit(branch: Branch): boolean;
  /** The most simulations to run. */
  budget: number;
}

/** How an exploration ended (every branch seen, stopped by `visit`, out of budget), after how many simulations. */
export interface Explored {
  end: 'all' | 'stopped' | 'budget';
  runs: number;
}

export function explore(
  start: Store,
  requests: ModelRequest[],
  exploration: Exploration,
): Explored {
  const groups = independentGroups(start, requests);
  const scripts: number[][] = [[]];
  let runs = 0;
  for (; scripts.length > 0; runs++) {
    if (runs >= exploration.budget) return { end: 'budget', runs };
    const script = scripts.pop()!;
    const simulation = new ScriptedSimulation(cloneStore(start), exploration.breaks, script);
    try {
      const outcomes = serveAll(simulation, requests, groups, exploration);
      const branch = { store: simulation.store, outcomes };
      if (exploration.visit(branch)) return { end: 'stopped', runs };
    } catch (error) {
      if (!(error instanceof Pruned || error instanceof WaitsForLock)) throw error;
    } finally {
      // Deepest decision last, so that it is taken next: depth first.
      scripts.push(...simulation.untaken);
    }
  }
  return { end: 'all', runs };
}

/**
 * What a request may read or change: the users whose sessions and remember-me tokens it
 * reaches (its session's, the user behind an anonymous session, its cookie's device's, the
 * user it signs in as) and its own anonymous session. Requests whose scopes do not meet
 * commute: any order of their steps gives the same outcomes and store.
 */
function scopeOf(store: Store, request: ModelRequest): Set<string> {
  const scope = new Set<string>();
  if (request.userId) scope.add(`user:${request.userId}`);
  const device = request.remember ? store.devices[request.remember.split('.')[0]] : undefined;
  if (device) scope.add(`user:${device.userId}`);
  let row = request.token ? store.rows[request.token] : undefined;
  if (request.token) scope.add(`token:${request.token}`);
  for (let hop = 0; row && hop <= 10; hop++) {
    scope.add(row.userId === null ? `token:${row.token}` : `user:${row.userId}`);
    row = row.successor === null ? undefined : store.rows[row.successor];
  }
  return scope;
}

/** Each request's group: requests share one when their scopes meet, directly or through others. */
function independentGroups(store: Store, requests: ModelRequest[]): number[] {
  const scopes = requests.map((request) => scopeOf(store, request));
  const group = requests.map((_, index) => index);
  const find = (index: number): number => (group[index] === index ? index : find(group[index]));
  for (let a = 0; a < requests.length; a++) {
    for (let b = a + 1; b < requests.length; b++) {
      if ([...scopes[a]].some((key) => scopes[b].has(key))) group[find(b)] = find(a);
    }
  }
  return requests.map((_, index) => find(index));
}

/**
 * Runs the requests in the order the script chooses, with reductions that lose no outcome:
 * independent groups of requests run one group after the other; two steps next to each other
 * that change nothing give the same result in either order, so only the order with the lower
 * request first is tried (when that order was possible); and requests held at the test app's
 * gate stay there until every held request has arrived (or ended before it, refused by the
 * guard).
 */
function serveAll(
  simulation: Simulation,
  requests: ModelRequest[],
  groups: number[],
  exploration: Exploration,
): Outcome[] {
  const runs = requests.map((request) => serve(simulation, request));
  const outcomes: Outcome[] = new Array(requests.length);
  const atGate = requests.map(() => false);
  const done = requests.map(() => false);
  // The gate across independent groups changes nothing; within one it orders the steps.
  const gateOpen = (group: number) =>
    requests.every(
      (request, index) => groups[index] !== group || !request.gated || atGate[index] || done[index],
    );
  let previous: { index: number; changedNothing: boolean; open: number[] } | null = null;
  // Only steps change the store: what one leaves is what the next starts from.
  let before = JSON.stringify(simulation.store);
  for (;;) {
    const unfinished = requests.map((_, index) => index).filter((index) => !done[index]);
    if (unfinished.length === 0) break;
    const group = Math.min(...unfinished.map((index) => groups[index]));
    const open = unfinished
      .filter((index) => groups[index] === group)
      .filter((index) => !(atGate[index] && !gateOpen(group)));
    if (open.length === 0) throw new Error('no request can go on: the explorer is wrong');
    const index = open[simulation.choose(open.length)];
    const step = runs[index].next();
    const after = JSON.stringify(simulation.store);
    const changedNothing = after === before;
    before = after;
    const swappable = previous?.changedNothing && changedNothing && previous.open.includes(index);
    if (swappable && index < previous!.index) throw new Pruned();
    previous = { index, changedNothing, open };
    if (!step.done) {
      if (step.value === 'gate' && requests[index].gated) atGate[index] = true;
      continue;
    }
    done[index] = true;
    if (!exploration.possible(index, step.value)) throw new Pruned();
    outcomes[index] = step.value;
  }
  return outcomes;
}
