import type { StepRecord } from './driver';

/* What a run did, for its report: how much, and which answers and events it covered. */

/** Counts for a run's report. */
export interface RunStatistics {
  programs: number;
  steps: number;
  requests: number;
  parallelSteps: number;
  /** The most states the model had to keep at once. */
  mostStates: number;
  /** Time spent following the package with the model (the rest is HTTP and SQL). */
  modelMs: number;
  /** How often each answer (`route status code`) and each event type came up: what was covered. */
  answers: Map<string, number>;
  events: Map<string, number>;
}

export function emptyStatistics(): RunStatistics {
  return {
    programs: 0,
    steps: 0,
    requests: 0,
    parallelSteps: 0,
    mostStates: 1,
    modelMs: 0,
    answers: new Map(),
    events: new Map(),
  };
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Counts one step: its requests, their answers (`route status code`) and its events. */
export function countStep(statistics: RunStatistics, record: StepRecord): void {
  statistics.steps++;
  statistics.requests += record.sent.length;
  if (record.step.kind === 'parallel') statistics.parallelSteps++;
  record.answers.forEach((answer, index) => {
    const code = answer.code ? ` ${answer.code}` : '';
    count(statistics.answers, `${record.sent[index].request.route} ${answer.status}${code}`);
  });
  for (const event of record.events) count(statistics.events, event.type);
}
