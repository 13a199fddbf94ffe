/**
 * The source of "now" for every session decision. Inject a different implementation to move
 * time in tests instead of sleeping.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(Clock)
 *   .useValue(new ManualClock(new Date('2030-01-01T00:00:00Z')))
 *   .compile();
 */
export abstract class Clock {
  abstract now(): Date;
}

/** The wall clock. */
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/**
 * A clock that only moves when told to; for tests.
 *
 * @example
 * const clock = new ManualClock();
 * clock.advance(31 * 60_000); // 31 minutes later
 */
export class ManualClock extends Clock {
  private current: number;

  constructor(start: Date = new Date()) {
    super();
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock forward (or back, with a negative number) by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the clock to `date`. */
  set(date: Date): void {
    this.current = date.getTime();
  }
}
