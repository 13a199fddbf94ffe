/**
 * What the benchmark scripts share to report: their settings and log lines, the summary of a list
 * of timings, its cells in a markdown table, and the JSON file of a run in bench/results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** A numeric setting of the environment (`name`), or `fallback` when it is not set. */
export const number = (name, fallback) => Number(process.env[name] ?? fallback);

/** A log on stderr whose lines start with `[prefix hh:mm:ss]`. */
export const logger =
  (prefix) =>
  (...args) =>
    console.error(`[${prefix} ${new Date().toISOString().slice(11, 19)}]`, ...args);

export const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Nearest-rank quantile of sorted values. */
const quantile = (sorted, q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];

/** Count, min, median, p90, p99 and max of `values` (`null`s left out); `null` when none. */
export function summary(values) {
  const sorted = values.filter((value) => value !== null).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = Math.floor(sorted.length / 2);
  return {
    n: sorted.length,
    min: sorted[0],
    median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1),
  };
}

export const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** A summary as "median / p90 / p99 / max". */
export const cells = (s) =>
  s ? `${fmt(s.median)} / ${fmt(s.p90)} / ${fmt(s.p99)} / ${fmt(s.max)}` : 'n/a';

/**
 * Writes `content`, with the date, Node's version and the cores, as
 * bench/results/<kind>-<the start's time stamp>.json; returns its path.
 */
export function saveResults(kind, started, content) {
  mkdirSync(RESULTS, { recursive: true });
  const date = new Date(started).toISOString();
  const file = join(RESULTS, `${kind}-${date.replace(/[:.]/g, '-')}.json`);
  const machine = { date, node: process.version, cores: cpus().length };
  writeFileSync(file, JSON.stringify({ ...machine, ...content }, null, 2) + '\n');
  return file;
}
