/**
 * A benchmark contender as a child process: forked from its compiled file in dist-bench/, its
 * output in dist-bench/logs/, ready when it reports its port, asked for statement statistics
 * (or whatever else it answers) and stopped over IPC (see bench/contenders/harness.ts for the other side).
 */
import { fork } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist-bench');

export class ContenderProcess {
  /**
   * @param {string} name used in logs
   * @param {string} file compiled contender, relative to dist-bench/contenders
   * @param {Record<string, string>} env added to this process's environment
   * @param {string[]} execArgv Node flags (CPU profiling)
   * @param {(...args: unknown[]) => void} log
   */
  constructor(name, file, env, execArgv = [], log = () => {}) {
    this.name = name;
    this.file = file;
    this.env = env;
    this.execArgv = execArgv;
    this.log = log;
    this.pending = new Map();
    this.nextId = 0;
  }

  async start() {
    mkdirSync(join(OUT, 'logs'), { recursive: true });
    const output = openSync(join(OUT, 'logs', `${this.name}.log`), 'w');
    this.child = fork(join(OUT, 'contenders', this.file), [], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', output, output, 'ipc'],
      execArgv: this.execArgv,
    });
    let onReady;
    const ready = new Promise((resolve) => (onReady = resolve));
    this.child.on('message', (message) => {
      if (message.type === 'ready') onReady(message.port);
      if (message.type === 'stats' || message.type === 'reply') {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    const port = await Promise.race([
      ready,
      this.exited.then((code) => {
        throw new Error(`${this.name} exited with ${code} before listening (see dist-bench/logs)`);
      }),
      sleep(60_000).then(() => {
        throw new Error(`${this.name} did not start within 60 s`);
      }),
    ]);
    this.base = `http://127.0.0.1:${port}`;
    this.log(`${this.name} listening on ${this.base}`);
  }

  stats() {
    return this.ask({ type: 'stats' });
  }

  /**
   * Sends `message` with a fresh id and resolves with the contender's answer of that id (a
   * `stats` or a `reply` message).
   */
  ask(message) {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...message, id });
    });
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.send({ type: 'stop' });
    await Promise.race([this.exited, sleep(10_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
