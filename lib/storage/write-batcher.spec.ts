import { SessionStoreError } from '../errors/session.exceptions';
import type { StatementResult } from './run-statement';
import { batchedUpdateParams } from './batched-update';
import { BatchedRow, BatchedWrite, WriteBatcher, WrittenRow } from './write-batcher';

function write(row: number): BatchedWrite {
  const idHash = Buffer.alloc(32, row);
  return {
    idHash,
    hex: idHash.toString('hex'),
    update: { data: { replace: false, set: { row }, remove: [] } },
  };
}

/** A statement held until the test answers it. */
interface Held<T> {
  writes: BatchedWrite[];
  answer: (value: T) => void;
  refuse: (error: unknown) => void;
}

/** Fake statements: every call is recorded and held until the test answers it. */
class Statements {
  readonly alone: Held<WrittenRow | undefined>[] = [];
  readonly batches: Held<StatementResult<BatchedRow>>[] = [];

  readonly batcher = new WriteBatcher<BatchedWrite>(
    (one) => new Promise((answer, refuse) => this.alone.push({ writes: [one], answer, refuse })),
    (writes) => new Promise((answer, refuse) => this.batches.push({ writes, answer, refuse })),
  );

  /** Answers batch `n` as PostgreSQL would: every row written, at version `row + 1`. */
  writeBatch(n: number, skip: number[] = []): void {
    const { writes, answer } = this.batches[n];
    const rows = writes
      .filter((one) => !skip.includes(one.idHash[0]))
      .map((one) => ({ id_hash: one.idHash, version: one.idHash[0] + 1 }));
    answer({ rows, affected: rows.length });
  }
}

/** Lets the batcher's next turn (`setImmediate`) and the promises after it run. */
async function nextTurn(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

function rowsOf(held: { writes: BatchedWrite[] }): number[] {
  return held.writes.map((one) => one.idHash[0]);
}

describe('WriteBatcher', () => {
  it('sends the writes of one turn as one statement, and answers each with its own row', async () => {
    const statements = new Statements();
    const answers = [1, 2, 3].map((row) => statements.batcher.write(write(row)));
    await nextTurn();
    expect(statements.batches.map(rowsOf)).toEqual([[1, 2, 3]]);
    expect(statements.alone).toEqual([]);
    statements.writeBatch(0, [2]);
    // Row 2 was not written (revoked meanwhile, say): its caller learns it; the others are.
    expect(await Promise.all(answers)).toEqual([
      { id_hash: write(1).idHash, version: 2 },
      undefined,
      { id_hash: write(3).idHash, version: 4 },
    ]);
  });

  it('sends a write alone in its turn as a statement of its own', async () => {
    const statements = new Statements();
    const answer = statements.batcher.write(write(1));
    await nextTurn();
    expect(statements.batches).toEqual([]);
    expect(statements.alone.map(rowsOf)).toEqual([[1]]);
    statements.alone[0].answer({ version: 7 });
    expect(await answer).toEqual({ version: 7 });
  });

  it('never puts two writes of one row in one statement: the second goes in another, at once', async () => {
    const statements = new Statements();
    const answers = [write(1), write(1), write(2), write(3)].map((one) =>
      statements.batcher.write(one),
    );
    await nextTurn();
    expect(statements.batches.map(rowsOf)).toEqual([[1, 2, 3]]);
    expect(statements.alone.map(rowsOf)).toEqual([[1]]);
    statements.alone[0].answer({ version: 3 });
    statements.writeBatch(0);
    expect((await Promise.all(answers)).map((row) => row?.version)).toEqual([2, 3, 3, 4]);
  });

  it('carries at most 100 writes per statement', async () => {
    const statements = new Statements();
    const answers = Array.from({ length: 130 }, (_, n) => statements.batcher.write(write(n)));
    await nextTurn();
    expect(statements.batches.map((held) => held.writes.length)).toEqual([100, 30]);
    statements.writeBatch(0);
    statements.writeBatch(1);
    expect(await Promise.all(answers)).toHaveLength(130);
  });

  it('fails every write of a statement that failed, and goes on with the next', async () => {
    const statements = new Statements();
    const answers = [1, 2].map((row) => statements.batcher.write(write(row)));
    await nextTurn();
    const failure = new SessionStoreError('connection terminated', {
      cause: new Error('terminated'),
    });
    statements.batches[0].refuse(failure);
    for (const answer of answers) await expect(answer).rejects.toBe(failure);
    const later = statements.batcher.write(write(1));
    await nextTurn();
    expect(statements.alone.map(rowsOf)).toEqual([[1]]);
    statements.alone[0].answer({ version: 9 });
    expect(await later).toEqual({ version: 9 });
  });
});

describe('batchedUpdateParams', () => {
  it('gives one element per write in each array, null where a write has no such change', () => {
    const touch = { lastSeenAt: new Date(1_000), expiresAt: new Date(2_000) };
    const secret = Buffer.alloc(32, 9);
    const params = batchedUpdateParams([
      { ...write(1), update: { touch } },
      { ...write(2), update: { data: { replace: true, set: { a: 1 }, remove: [] } } },
      { ...write(3), update: { data: { replace: false, set: {}, remove: ['b', 'c'] } } },
      { ...write(4), update: { csrfSecret: secret } },
    ]);
    expect(params).toEqual([
      [1, 2, 3, 4].map((row) => write(row).idHash),
      [touch.lastSeenAt, null, null, null],
      [touch.expiresAt, null, null, null],
      [null, true, false, null],
      [null, '{"a":1}', '{}', null],
      [null, null, '["b","c"]', null],
      [null, null, null, secret],
    ]);
  });
});
