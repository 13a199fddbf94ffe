import { Branch, explore } from './explorer';
import { canonicalJson, mismatch, Names, ObservedResponse } from './matching';
import { ModelRequest, Outcome } from './exchange';
import { bindHandles, difference, modelLines, StoreSnapshot, storedLines } from './store-view';
import { collectGarbage, isReal, renameIds, Store } from './store';

/** The package did something the rules do not allow (or the model is wrong: read the step). */
export class ModelMismatch extends Error {
  override name = 'ModelMismatch';
}

/** More possible states than this at once: the model cannot follow the program. */
const MAX_STATES = 500;
/** Simulations per state and step: the coarse grain is small; the finer ones are searched. */
const COARSE_BUDGET = 20_000;
const FINE_BUDGET = 400_000;
/** The most points between the statements of one step that an explanation may use. */
const MAX_BREAKS = 2;

/**
 * The reference model of a whole program: every state of the store the rules allow after the
 * steps so far, given what the package answered and stored. Most steps leave one; evictions
 * among equally old sessions may leave several until the stored rows tell them apart. A step
 * that leaves none is a failure.
 */
export class LifecycleModel {
  private states: Store[];
  private step = 0;
  /** Every real identifier an answer showed so far: a new one is never one of them. */
  private readonly seen = new Set<string>();

  constructor(now: number) {
    this.states = [{ now, rows: {}, devices: {} }];
  }

  /** How many states the rules still allow. */
  get possibleStates(): number {
    return this.states.length;
  }

  advanceClock(ms: number): void {
    for (const state of this.states) state.now += ms;
  }

  collectGarbage(): void {
    for (const state of this.states) collectGarbage(state);
  }

  /**
   * Requests served together (one, or several in flight at once), what the package answered
   * to each and the rows it stored after them: keeps the states in which the rules allow both.
   * The coarse grain first; finer ones (one more point between statements at a time) only when
   * the coarse explains nothing, and then the first explanation found is taken.
   */
  follow(requests: ModelRequest[], answers: ObservedResponse[], snapshot: StoreSnapshot): void {
    this.step++;
    const why = new Explanations();
    let next = this.explain(requests, answers, snapshot, 0, why);
    const maxBreaks = requests.length > 1 ? MAX_BREAKS : 0;
    for (let breaks = 1; next.size === 0 && breaks <= maxBreaks; breaks++) {
      next = this.explain(requests, answers, snapshot, breaks, why);
    }
    if (next.size === 0) throw new ModelMismatch(why.describe());
    for (const state of next.values()) this.learnIdentifiers(state);
    this.keep([...next.values()]);
  }

  /** A step without requests (the clock, garbage collection): the stored rows must agree. */
  agreeWith(snapshot: StoreSnapshot): void {
    const why = new Explanations();
    const kept = new Map<string, Store>();
    for (const state of this.states) {
      const agreed = agreement(state, snapshot, why);
      if (agreed) kept.set(observable(agreed), agreed);
    }
    if (kept.size === 0) throw new ModelMismatch(why.describe());
    this.keep([...kept.values()]);
  }

  private explain(
    requests: ModelRequest[],
    answers: ObservedResponse[],
    snapshot: StoreSnapshot,
    breaks: number,
    why: Explanations,
  ): Map<string, Store> {
    const fine = breaks > 0;
    const next = new Map<string, Store>();
    // Branches often end in the same state: each is compared with the stored rows once.
    const compared = new Set<string>();
    for (const state of this.states) {
      const known = new Set([...this.seen, ...[...identifiersOf(state)].filter(isReal)]);
      const possible = (index: number, outcome: Outcome) => {
        const reason = mismatch(outcome, answers[index], new Names(known));
        if (reason) why.answer(requests.length > 1 ? `request ${index + 1}: ${reason}` : reason);
        return reason === null;
      };
      const visit = (branch: Branch) => {
        const named = this.name(branch, answers, known, why);
        if (!named) return false;
        const key = canonicalJson(named);
        if (compared.has(key)) return false;
        compared.add(key);
        const agreed = agreement(named, snapshot, why);
        if (!agreed) return false;
        next.set(observable(agreed), agreed);
        return fine;
      };
      const budget = fine ? FINE_BUDGET : COARSE_BUDGET;
      const explored = explore(state, requests, { breaks, possible, visit, budget });
      if (explored.end === 'budget' && !fine) {
        throw new ModelMismatch(
          `more than ${budget} coarse interleavings: the model cannot follow`,
        );
      }
      if (explored.end === 'budget')
        why.budget(`no explanation within ${budget} interleavings with ${breaks} breaks`);
    }
    return next;
  }

  /** The branch with its made-up names bound to what the answers showed; `null` if it cannot be. */
  private name(
    branch: Branch,
    answers: ObservedResponse[],
    known: ReadonlySet<string>,
    why: Explanations,
  ): Store | null {
    // The branch's real identifiers are the state's (new ones are still made up).
    const names = new Names(known);
    for (let index = 0; index < answers.length; index++) {
      const reason = mismatch(branch.outcomes[index], answers[index], names);
      if (reason) {
        why.answer(answers.length > 1 ? `request ${index + 1}: ${reason}` : reason);
        return null;
      }
    }
    return this.nameTheRest(renameIds(branch.store, names.bound));
  }

  private learnIdentifiers(state: Store): void {
    for (const id of identifiersOf(state)) if (!id.startsWith('~')) this.seen.add(id);
  }

  private keep(states: Store[]): void {
    if (states.length > MAX_STATES) {
      throw new ModelMismatch(
        `${states.length} possible states: the model cannot follow this program`,
      );
    }
    this.states = states;
  }

  /** New identifiers no answer showed get names of their own, the same in every branch. */
  private nameTheRest(store: Store): Store {
    const names = new Map<string, string>();
    for (const id of identifiersOf(store)) {
      if (id.startsWith('?')) names.set(id, `~${id.slice(1)}@${this.step}`);
    }
    return renameIds(store, names);
  }
}

/**
 * What the package's answers and rows can ever show of a state: two states that agree here
 * differ only in tokens no client holds (never handed out), and are kept as one.
 */
function observable(state: Store): string {
  return modelLines(state).join('\n');
}

/** The state with its handles named as the stored rows show them, if it agrees with them. */
function agreement(state: Store, snapshot: StoreSnapshot, why: Explanations): Store | null {
  const bound = bindHandles(state, snapshot);
  if (typeof bound === 'string') {
    why.store([bound]);
    return null;
  }
  const lines = difference(modelLines(bound), storedLines(snapshot, bound));
  if (lines.length === 0) return bound;
  why.store(lines);
  return null;
}

/** Why no state explains a step: the answers that did not match, or the closest stored rows. */
class Explanations {
  private readonly answers = new Set<string>();
  private closest: string[] | null = null;
  private readonly limits: string[] = [];

  /** The search stopped before it saw every interleaving. */
  budget(reason: string): void {
    this.limits.push(reason);
  }

  answer(reason: string): void {
    this.answers.add(reason);
  }

  store(lines: string[]): void {
    if (!this.closest || lines.length < this.closest.length) this.closest = lines;
  }

  describe(): string {
    const limits = this.limits.length > 0 ? `\n(${this.limits.join('; ')})` : '';
    return this.reasons() + limits;
  }

  private reasons(): string {
    if (this.closest) {
      return `the stored rows differ from every state the rules allow; the closest (- model only, + stored only):\n${this.closest
        .map((line) => `  ${line}`)
        .join('\n')}`;
    }
    return `no outcome the rules allow matches the answer:\n${[...this.answers]
      .slice(0, 6)
      .map((reason) => `  ${reason}`)
      .join('\n')}`;
  }
}

/** Every identifier in the store: tokens, handles, selectors, validators. */
function identifiersOf(store: Store): Set<string> {
  const ids = new Set<string>();
  for (const row of Object.values(store.rows)) {
    ids.add(row.token).add(row.handle);
    if (row.successor) ids.add(row.successor);
    if (row.rememberMeHandle) ids.add(row.rememberMeHandle);
  }
  for (const device of Object.values(store.devices)) {
    ids.add(device.selector).add(device.handle).add(device.validator);
    if (device.previous) ids.add(device.previous);
  }
  return ids;
}
