import fc from 'fast-check';
import { T0 } from '../support/test-app';
import { Driver, StepRecord } from './driver';
import { Invariants } from './invariants';
import { describeStep } from './printer';
import type { Step } from './program';
import { LifecycleModel } from './reference/model';
import { countStep, emptyStatistics, RunStatistics } from './statistics';

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
    countStep(this.statistics, record);
    const started = Date.now();
    try {
      if (step.kind === 'clock') this.model.advanceClock(step.ms);
      else if (step.kind === 'gc') this.model.collectGarbage();
      if (record.sent.length > 0) {
        const requests = record.sent.map((sent) => sent.request);
        this.model.follow(requests, record.answers, record.snapshot);
      } else {
        this.model.agreeWith(record.snapshot);
      }
      this.statistics.mostStates = Math.max(this.statistics.mostStates, this.model.possibleStates);
      this.invariants.check(record);
    } catch (error) {
      throw new StepFailure(record, error as Error);
    } finally {
      this.statistics.modelMs += Date.now() - started;
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
