import { Adapter, ADAPTERS, startApp } from '../support/test-app';
import { MODEL_OPTIONS } from './config';
import { Driver } from './driver';
import { emptyStatistics, RunStatistics } from './statistics';
import { FailureReport, formatFailure, runPrograms } from './runner';

/*
 * The long run of the model-based test (`npm run test:model`): programs with new seeds until
 * MODEL_SECONDS (default 300) have passed on each adapter (MODEL_ADAPTER picks one), every
 * failure printed as it is found (seed, path, shrunk script, the command that replays it),
 * then the run's figures. MODEL_SEED with MODEL_PATH (and MODEL_REPLAY_PATH, MODEL_COMMANDS,
 * as the failure printed them) replays one failure.
 */

const seconds = Number(process.env.MODEL_SECONDS ?? 300);
const maxCommands = Number(process.env.MODEL_COMMANDS ?? 40);
const adapters: Adapter[] = process.env.MODEL_ADAPTER
  ? [process.env.MODEL_ADAPTER as Adapter]
  : ADAPTERS;
/** Programs per fast-check run: a new seed every few seconds. */
const PROGRAMS_PER_SEED = 10;
/** The most one seed may take, shrinking a failure included. */
const SEED_TIME_LIMIT_MS = 10 * 60_000;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** How often each key came up, most frequent first. */
function counts(counted: Map<string, number>): string {
  return [...counted]
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `  ${count} ${key}`)
    .join('\n');
}

function figures(adapter: Adapter, statistics: RunStatistics, ms: number): string {
  return [
    `${adapter}: ${statistics.programs} programs (shrinking included), ${statistics.steps} steps, ${statistics.requests} requests, ${statistics.parallelSteps} parallel steps, up to ${statistics.mostStates} possible states at once, in ${Math.round(ms / 1000)} s (${Math.round(statistics.modelMs / 1000)} s in the model)`,
    'answers (route, status, code):',
    counts(statistics.answers),
    'events:',
    counts(statistics.events),
  ].join('\n');
}

describe('model-based lifecycle, long run', () => {
  it.each(adapters)(
    'random programs keep the rules and the invariants on %s for MODEL_SECONDS',
    async (adapter) => {
      const app = await startApp(adapter, { options: MODEL_OPTIONS });
      const driver = new Driver(app);
      const statistics = emptyStatistics();
      const failures: FailureReport[] = [];
      const started = Date.now();
      try {
        if (process.env.MODEL_PATH) {
          const failure = await runPrograms(
            driver,
            {
              seed: Number(process.env.MODEL_SEED),
              path: process.env.MODEL_PATH,
              replayPath: process.env.MODEL_REPLAY_PATH,
              numRuns: 1,
              maxCommands,
              adapter,
              timeLimitMs: SEED_TIME_LIMIT_MS,
            },
            statistics,
          );
          if (failure) {
            failures.push(failure);
            print(formatFailure(failure));
          }
        } else {
          let seed = Number(process.env.MODEL_SEED ?? Date.now() % 1_000_000_000);
          while (Date.now() - started < seconds * 1000) {
            const options = {
              seed,
              numRuns: PROGRAMS_PER_SEED,
              maxCommands,
              adapter,
              timeLimitMs: SEED_TIME_LIMIT_MS,
            };
            const failure = await runPrograms(driver, options, statistics);
            if (failure) {
              failures.push(failure);
              print(formatFailure(failure));
            }
            seed++;
          }
        }
      } finally {
        driver.close();
        await app.close();
      }
      print(figures(adapter, statistics, Date.now() - started));
      expect(failures.map(formatFailure)).toEqual([]);
    },
  );
});
