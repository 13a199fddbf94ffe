import fc from 'fast-check';
import { Driver } from './driver';
import { ProgramRun, StepCommand, StepFailure } from './harness';
import { RunStatistics } from './statistics';
import { formatScript } from './printer';
import { stepArbitrary } from './program';

/*
 * Runs generated programs through fast-check: each program starts from empty tables and the
 * clock at T0; a failing program is shrunk to a smallest one that still fails, and reported as
 * a script with the seed and path that replay it.
 */

export interface RunOptions {
  seed: number;
  /** How many programs (for a replay: ignored, the path says which one). */
  numRuns: number;
  /** The longest program; replays must use the same number. */
  maxCommands: number;
  /** The counterexample path of a failure, to replay it. */
  path?: string;
  /** The commands' replay path fast-check printed with it (which steps ran). */
  replayPath?: string;
  adapter: string;
  /**
   * How long the run, shrinking included, may take: a failure is then reported as shrunk so
   * far (shrinking a program whose steps take long to explain can otherwise take hours).
   */
  timeLimitMs: number;
}

export interface FailureReport {
  seed: number;
  path: string;
  /** The shrunk program as it ran, one line per step (up to the failing one). */
  script: string[];
  message: string;
  /** One command that runs this program again. */
  replay: string;
}

export function programs(maxCommands: number, replayPath?: string) {
  return fc.commands([stepArbitrary.map((step) => new StepCommand(step))], {
    maxCommands,
    // Lengths spread up to maxCommands (fast-check's default size keeps programs short).
    size: 'max',
    replayPath,
  });
}

/**
 * fast-check's time limit, typed for the property: fast-check 4.10 declares the plugin as
 * `Plugin<unknown>`, which `Parameters<T>['plugins']` does not take.
 */
function timeLimit<T>(ms: number): fc.Plugin<T> {
  return fc.interruptAfterTimeLimit(ms) as unknown as fc.Plugin<T>;
}

/** Runs the programs; the shrunk failure, or `null` when every program kept the rules. */
export async function runPrograms(
  driver: Driver,
  options: RunOptions,
  statistics: RunStatistics,
): Promise<FailureReport | null> {
  // The script of the last program that failed: fast-check's final counterexample is the
  // last failing program it ran while shrinking.
  let lastFailure: { script: string[]; error: Error } | null = null;
  // The program running now: the time limit ends fast-check's wait for it, not the program.
  let running: Promise<void> = Promise.resolve();
  const property = fc.asyncProperty(
    programs(options.maxCommands, options.replayPath),
    (commands) => {
      running = (async () => {
        await driver.reset();
        statistics.programs++;
        const program = new ProgramRun(driver, statistics);
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: program }), commands);
          program.finish();
        } catch (error) {
          lastFailure = { script: [...driver.script], error: error as Error };
          throw error;
        }
      })();
      return running;
    },
  );
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.numRuns,
    path: options.path,
    plugins: [timeLimit<Parameters<typeof property.run>[0]>(options.timeLimitMs)],
  });
  // fast-check's counterexample is the last failure it saw, not the interrupted program's.
  const reported = lastFailure;
  // The next run must not share the app with it: its rows, cookies and gate would be the
  // next program's (a long run once printed a step of the interrupted program as the next's).
  await running.catch(() => undefined);
  if (!details.failed || !reported) return null;
  const failure: { script: string[]; error: Error } = reported;
  const path = details.counterexamplePath ?? '';
  const replayPath = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[0]))?.[1];
  const env = [
    `MODEL_SEED=${options.seed}`,
    `MODEL_PATH=${path}`,
    replayPath ? `MODEL_REPLAY_PATH='${replayPath}'` : '',
    `MODEL_COMMANDS=${options.maxCommands}`,
    `MODEL_ADAPTER=${options.adapter}`,
  ].filter(Boolean);
  return {
    seed: options.seed,
    path,
    script: failure.script,
    message: failure.error instanceof StepFailure ? failure.error.message : String(failure.error),
    replay: `${env.join(' ')} npm run test:model`,
  };
}

export function formatFailure(report: FailureReport): string {
  return [
    `The package broke a rule of the model (seed ${report.seed}, path ${report.path}).`,
    '',
    'Shrunk program:',
    formatScript(report.script),
    '',
    report.message,
    '',
    `Replay: ${report.replay}`,
  ].join('\n');
}
