import type { StatementResult } from './run-statement';
import type { SessionUpdate } from './session.repository';

/** One request's UPDATE as a batch carries it: any of touch, data change and CSRF secret. */
export interface BatchedWrite {
  idHash: Buffer;
  /** `hex` of `idHash`: no two writes of one row go in one statement. */
  hex: string;
  /** The change; never a guarded one (its statement is of its own). */
  update: SessionUpdate;
}

/** What an UPDATE of a request returns for the row it wrote. */
export interface WrittenRow {
  version: number;
  /** With the cache: the data as PostgreSQL's text of it. */
  data_json?: string;
  csrf_secret?: Buffer | null;
}

/** What the UPDATE of a batch returns per row it wrote. */
export interface BatchedRow extends WrittenRow {
  id_hash: Buffer;
}

/** The most writes one statement carries. */
const MAX_BATCH = 100;

interface Waiting<W> {
  write: W;
  settle: (row: WrittenRow | undefined) => void;
  fail: (error: unknown) => void;
}

/**
 * Group commit of request writes: the writes that reach the store in one turn of the event loop
 * go out together, as one UPDATE of many rows (one statement, one transaction, one wait for the
 * disk), each acknowledged only once that transaction committed, so every acknowledged write is
 * as durable as one written alone. A write alone in its turn (a quiet server) goes out as its
 * own statement (`single`), as before.
 *
 * A statement carries a row once (an UPDATE joined twice to one row writes it once): a second
 * write of a row in the same turn goes in another statement, sent at the same moment, and
 * PostgreSQL's row lock puts the two one after the other, as it did for writes sent alone. Each
 * statement locks its rows in the order of their `id_hash`, as every statement that locks
 * several rows does (`lock-order`), so two of them never wait for each other in a cycle.
 */
export class WriteBatcher<W extends BatchedWrite> {
  private waiting: Waiting<W>[] = [];
  private scheduled = false;

  constructor(
    /** Writes one row alone (the statement of an unbatched write). */
    private readonly single: (write: W) => Promise<WrittenRow | undefined>,
    /** Writes many rows in one statement (`batchedUpdateStatement`). */
    private readonly many: (writes: W[]) => Promise<StatementResult<BatchedRow>>,
  ) {}

  /** Writes `write` with the others of this turn; resolves with its row, `undefined` when gone. */
  write(write: W): Promise<WrittenRow | undefined> {
    return new Promise((settle, fail) => {
      this.waiting.push({ write, settle, fail });
      this.schedule();
    });
  }

  /** Once per turn: after the I/O callbacks of this turn, whose writes join the batch. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Sends every waiting write, in as many statements as it takes to carry each row once. */
  private flush(): void {
    let batch = this.nextBatch();
    while (batch.length > 0) {
      void this.send(batch);
      batch = this.nextBatch();
    }
  }

  /** Takes from the waiting writes the next statement's: at most `MAX_BATCH`, each row once. */
  private nextBatch(): Waiting<W>[] {
    const batch: Waiting<W>[] = [];
    const rows = new Set<string>();
    const later: Waiting<W>[] = [];
    for (const waiting of this.waiting) {
      const { hex } = waiting.write;
      const clashes = batch.length === MAX_BATCH || rows.has(hex);
      if (clashes) {
        later.push(waiting);
        continue;
      }
      batch.push(waiting);
      rows.add(hex);
    }
    this.waiting = later;
    return batch;
  }

  private async send(batch: Waiting<W>[]): Promise<void> {
    try {
      if (batch.length === 1) {
        batch[0].settle(await this.single(batch[0].write));
        return;
      }
      const { rows } = await this.many(batch.map(({ write }) => write));
      const written = new Map(rows.map((row) => [row.id_hash.toString('hex'), row]));
      for (const { write, settle } of batch) settle(written.get(write.hex));
    } catch (error) {
      for (const { fail } of batch) fail(error);
    }
  }
}
