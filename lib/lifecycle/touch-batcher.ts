import { Injectable } from '@nestjs/common';
import { SessionRepository, SessionTouch } from '../storage/session.repository';

/** The most touches one statement carries. */
const MAX_BATCH = 500;

interface Waiting {
  touch: SessionTouch;
  settle: (version: number | null) => void;
  fail: (error: unknown) => void;
}

/**
 * Coalesces the touches of many sessions (a read after `touchInterval` moves `last_seen_at` and
 * `expires_at`): while one batch is being written, the touches that arrive wait and go together
 * in the next, one statement for all of them. A quiet server writes each touch at once, as
 * before; a busy one writes one statement per round trip instead of one per session. Each
 * request still waits for its own touch, so its answer comes after the touch is stored.
 */
@Injectable()
export class TouchBatcher {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly repository: SessionRepository) {}

  /** Touches waiting for the batch being written to finish. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Stores `touch` with the others waiting; resolves with the row's new version, or `null`. */
  touch(touch: SessionTouch): Promise<number | null> {
    return new Promise((settle, fail) => {
      this.waiting.push({ touch, settle, fail });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          const versions = await this.repository.touchAll(batch.map(({ touch }) => touch));
          batch.forEach(({ settle }, index) => settle(versions[index]));
        } catch (error) {
          batch.forEach(({ fail }) => fail(error));
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
