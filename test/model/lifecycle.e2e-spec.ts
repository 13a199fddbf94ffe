import { Adapter, ADAPTERS, startApp, TestApp } from '../support/test-app';
import { MODEL_OPTIONS } from './config';
import { Driver } from './driver';
import { emptyStatistics } from './statistics';
import { formatFailure, runPrograms } from './runner';

/*
 * The model-based test of the whole session lifecycle (issue 16), a fixed set of seeds so that
 * `npm test` stays quick and repeatable; `npm run test:model` runs many more (long-run.model.ts).
 */

/** Programs per adapter, and how long each may be: a few seconds and about 600 steps per adapter. */
const PROGRAMS = 40;
const MAX_STEPS = 30;
const SEEDS: Record<Adapter, number> = { express: 16_001, fastify: 16_002 };
/** Room to shrink a failure and report it before Jest's own timeout. */
const TIME_LIMIT_MS = 4 * 60_000;

describe.each(ADAPTERS)('model-based lifecycle (%s)', (adapter) => {
  let app: TestApp;
  let driver: Driver;

  beforeAll(async () => {
    app = await startApp(adapter, { options: MODEL_OPTIONS });
    driver = new Driver(app);
  });

  afterAll(async () => {
    driver.close();
    await app.close();
  });

  it(
    'R3 R8-R14 R18 R21-R23 R26 random programs of every operation, in sequence and in parallel, get the answers the rules allow and keep every invariant after each step',
    async () => {
      const failure = await runPrograms(
        driver,
        {
          seed: SEEDS[adapter],
          numRuns: PROGRAMS,
          maxCommands: MAX_STEPS,
          adapter,
          timeLimitMs: TIME_LIMIT_MS,
        },
        emptyStatistics(),
      );
      if (failure) throw new Error(formatFailure(failure));
    },
    TIME_LIMIT_MS + 60_000,
  );
});
