import type { Pick } from './program';

/*
 * Values a program has seen (tokens, remember-me cookies, handles), each with who got it at
 * which step: a replay or revocation picks one, and the script names it that way.
 */

/** A value, the browser (or `attacker`) that got it, the step, and which of that step's it was. */
export interface Labelled {
  value: string;
  holder: string;
  step: number;
  nth: number;
}

export class Labels {
  private readonly items: Labelled[] = [];

  add(value: string, holder: string, step: number): void {
    if (this.items.some((item) => item.value === value)) return;
    const nth =
      this.items.filter((item) => item.holder === holder && item.step === step).length + 1;
    this.items.push({ value, holder, step, nth });
  }

  pick(pick: Pick): Labelled | null {
    if (pick === 'never-issued') return null;
    if (typeof pick === 'number') {
      const count = this.items.length;
      // Negative: counted back from the latest (-1), whose grace period may still run.
      return count === 0 ? null : this.items[((pick % count) + count) % count];
    }
    return (
      this.items.find(
        (item) =>
          item.holder === pick.holder && item.step === pick.step && item.nth === (pick.nth ?? 1),
      ) ?? null
    );
  }

  describe(item: Labelled, what: string): string {
    return `${item.holder}'s ${what}${item.nth > 1 ? ` ${item.nth}` : ''} from step ${item.step}`;
  }

  clear(): void {
    this.items.length = 0;
  }
}
