/**
 * A start-up problem the user can fix (a bad environment variable, a data directory in use):
 * reported as its message alone, without a stack trace.
 */
export class SampleStartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}
