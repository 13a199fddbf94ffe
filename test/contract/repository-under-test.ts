import { randomBytes } from 'node:crypto';

/**
 * What a contract suite needs from an implementation: a repository on its store, and one of
 * the same kind whose store cannot answer (every call must then reject with
 * `SessionStoreError`). Created once per suite; `close` releases what it holds.
 */
export interface RepositoryUnderTest<R> {
  repository: R;
  unreachable: R;
  close?(): Promise<void>;
}

/**
 * The suites' moment: far from the times of the other suites sharing a store, so that rows
 * they leave behind never count here. Rows meant to expire use {@link LONG_AGO}.
 */
export const T = new Date('2040-01-01T00:00:00.000Z');
export const LONG_AGO = new Date('2001-01-01T00:00:00.000Z');

/** `ms` after `from`. */
export function at(ms: number, from: Date = T): Date {
  return new Date(from.getTime() + ms);
}

/** An identifier no other test uses: each test works on users of its own. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** A random 32-byte value (a token hash, a seal, a secret). */
export function bytes(): Buffer {
  return randomBytes(32);
}

/** Runs `race` `times` times: interleavings differ from one run to the next. */
export async function repeat(times: number, race: () => Promise<void>): Promise<void> {
  for (let run = 0; run < times; run++) await race();
}
