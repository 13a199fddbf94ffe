import fc from 'fast-check';
import { T0 } from '../support/test-app';
import { Driver, StepRecord } from './driver';
import { Invariants } from './invariants';
import { describeStep } from './printer';
import type { Step } from './program';
import { LifecycleModel } from './reference/model';

/** A step the package answered against the rules or an invariant; says which step and why. */
export class StepFailure extends Error {
  override name = 'StepFailure';

  constructor(
    readonly record: StepRecord,
    override readonly cause: Error,
  ) {
    super(`step ${record.number} (${record.line}): ${cause.name}: ${cause.message}`);
  }
}

/** Counts for a run's report. */
export interface RunStatistics {
  programs: number;
  steps: number;
  requests: number;
  parallelSteps: number;
  /** The most states the model had to keep at once. */
  mostStates: number;
  /** Time spent following the package with the model (the rest is HTTP and SQL). */
  modelMs: number;
  /** How often each answer (`route status code`) and each event type came up: what was covered. */
  answers: Map<string, number>;
  events: Map<string, number>;
}

export function emptyStatistics(): RunStatistics {
  return {
    programs: 0,
    steps: 0,
    requests: 0,
    parallelSteps: 0,
    mostStates: 1,
    modelMs: 0,
    answers: new Map(),
    events: new Map(),
  };
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * One program's run: each step goes to the package (driver), then the model follows it with
 * the package's answers and stored rows, then the invariants are checked.
 */
export class ProgramRun {
  private readonly model = new LifecycleModel(T0.getTime());
  private readonly invariants = new Invariants();

  constructor(
    private readonly driver: Driver,
    private readonly statistics: RunStatistics,
  ) {}

  async step(step: Step): Promise<void> {
    const record = await this.driver.run(step);
    this.statistics.steps++;
    this.statistics.requests += record.sent.length;
    if (step.kind === 'parallel') this.statistics.parallelSteps++;
    record.answers.forEach((answer, index) =>
      count(
        this.statistics.answers,
        `${record.sent[index].request.route} ${answer.status}${answer.code ? ` ${answer.code}` : ''}`,
      ),
    );
    for (const event of record.events) count(this.statistics.events, event.type);
    const started = Date.now();
    try {
      this.model.defectsOfLastStep = new Set();
      if (step.kind === 'clock') this.model.advanceClock(step.ms);
      else if (step.kind === 'gc') this.model.collectGarbage();
      if (record.sent.length > 0) {
        const requests = record.sent.map((sent) => sent.request);
        this.model.follow(requests, record.answers, record.snapshot);
      } else {
        this.model.agreeWith(record.snapshot);
      }
      this.statistics.mostStates = Math.max(this.statistics.mostStates, this.model.possibleStates);
      this.invariants.check(record, this.model.defectsOfLastStep);
    } catch (error) {
      throw new StepFailure(record, error as Error);
    } finally {
      this.statistics.modelMs += Date.now() - started;
      if (process.env.MODEL_DEBUG && Date.now() - started > 300) {
        console.log(`slow step ${Date.now() - started} ms: ${record.line}`);
      }
    }
  }

  /** The end of the program: every event against every secret handed out. */
  finish(): void {
    this.invariants.checkAllEvents(this.driver.app.events);
  }
}

/** Runs one fixed program (a regression's script) from a fresh start; throws where it fails. */
export async function runSteps(
  driver: Driver,
  steps: Step[],
  statistics: RunStatistics = emptyStatistics(),
): Promise<void> {
  await driver.reset();
  const program = new ProgramRun(driver, statistics);
  for (const step of steps) await program.step(step);
  program.finish();
}

/** A step as a fast-check command: always applicable, so a replay runs the same steps. */
export class StepCommand implements fc.AsyncCommand<object, ProgramRun> {
  constructor(readonly step: Step) {}

  check(): boolean {
    return true;
  }

  run(_model: object, program: ProgramRun): Promise<void> {
    return program.step(this.step);
  }

  toString(): string {
    return describeStep(this.step);
  }
}
