/**
 * Contender of `npm run bench:devices` (bench/devices.mjs): this package, imported by its name
 * from the built dist/, on Nest with Express, with its default options except `gcInterval:
 * false` (garbage collection only on demand, through POST /gc) and `gcBatchSize` from
 * BENCH_GC_BATCH (default 1000). Besides the harness's statement counter it traces, while a
 * measured call runs, the text, parameters and duration of every statement the pg client sends:
 * for `logoutAll` (one request at a time) the whole list, for GC only its batch statements.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  CsrfService,
  CurrentSession,
  CurrentUserId,
  Public,
  Session,
  SessionGarbageCollector,
  SessionGuard,
  SessionModule,
  SessionService,
  SkipCsrf,
} from 'nest-session-security';
import { Client } from 'pg';
import { countStatements, serve } from './harness';
import { sessionDataSource } from './session-data-source';

interface TracedStatement {
  /** The first word and the table it acts on, e.g. `UPDATE session`. */
  kind: string;
  text: string;
  values: unknown[];
  ms?: number;
}

/** Statements of the `logoutAll` being measured (null when none is). */
let callTrace: TracedStatement[] | null = null;
/** Batch statements of the garbage collection being measured (null when none runs). */
let gcTrace: TracedStatement[] | null = null;

function kindOf(text: string): string {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '?';
  const main = /\b(UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+"?(\w+)"?/i.exec(text);
  const table = main?.[2] ?? /\bFROM\s+"?(\w+)"?/i.exec(text)?.[1] ?? '?';
  return `${main ? main[1].toUpperCase().replace(/\s+/g, ' ') : verb} ${table}`;
}

/** Wraps the pg client's `query` (after the harness's counter) to trace measured statements. */
function traceStatements(): void {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function tracedQuery(this: unknown, ...args: unknown[]) {
    const config = args[0] as string | { text?: string; values?: unknown[] } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    const values =
      (typeof config === 'object' ? config?.values : undefined) ??
      (Array.isArray(args[1]) ? (args[1] as unknown[]) : []);
    let entry: TracedStatement | undefined;
    if (typeof text === 'string') {
      if (callTrace) {
        entry = { kind: kindOf(text), text, values };
        callTrace.push(entry);
      } else if (gcTrace && text.includes('SKIP LOCKED')) {
        entry = { kind: kindOf(text), text, values: [] };
        gcTrace.push(entry);
      }
    }
    const started = performance.now();
    const traced = entry;
    const done = () => {
      if (traced) traced.ms = performance.now() - started;
    };
    // pg's pool passes a callback (the package's statements); TypeORM awaits the promise.
    const callback = args[args.length - 1];
    if (typeof callback === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        done();
        return (callback as (...values: unknown[]) => unknown)(...results);
      };
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(done, done);
    }
    return result;
  };
}

const quantile = (values: number[], q: number): number => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

@Controller()
class DevicesController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
    private readonly collector: SessionGarbageCollector,
  ) {}

  @Public()
  @Get('csrf')
  csrfToken(@CurrentSession() session: Session) {
    return { token: this.csrf.token(session) };
  }

  @Get('read')
  read(@CurrentUserId() userId: string) {
    return { userId };
  }

  /**
   * "Sign out everywhere" of the signed-in user (CSRF checked as on any unsafe route). Returns
   * how many sessions ended, the time of the `logoutAll` call itself and its statements.
   */
  @Post('logout-all')
  @HttpCode(200)
  async logoutAll(@CurrentSession() session: Session, @CurrentUserId() userId: string) {
    const trace: TracedStatement[] = [];
    callTrace = trace;
    const started = performance.now();
    let count: number;
    try {
      count = await this.sessions.logoutAll(userId, session);
    } finally {
      callTrace = null;
    }
    const ms = performance.now() - started;
    return { count, ms, statements: trace };
  }

  /** Runs the garbage collector once; answers when it is done. */
  @Public()
  @SkipCsrf()
  @Post('gc')
  @HttpCode(200)
  async gc() {
    const trace: TracedStatement[] = [];
    gcTrace = trace;
    const started = performance.now();
    let deleted: number;
    try {
      deleted = await this.collector.collect();
    } finally {
      gcTrace = null;
    }
    const ms = performance.now() - started;
    const batchMs = trace.map((entry) => entry.ms ?? NaN).filter((value) => !Number.isNaN(value));
    const byKind: Record<string, number> = {};
    for (const entry of trace) byKind[entry.kind] = (byKind[entry.kind] ?? 0) + 1;
    return {
      deleted,
      ms,
      batches: trace.length,
      byKind,
      batchMs: {
        p50: quantile(batchMs, 0.5),
        p99: quantile(batchMs, 0.99),
        max: Math.max(...batchMs),
      },
    };
  }
}

@Module({
  imports: [
    sessionDataSource(),
    SessionModule.forRoot({
      gcInterval: false,
      gcBatchSize: Number(process.env.BENCH_GC_BATCH ?? 1000),
    }),
  ],
  controllers: [DevicesController],
  providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
})
class DevicesModule {}

async function main() {
  countStatements();
  traceStatements();
  const app = await NestFactory.create(DevicesModule, { logger: ['error'] });
  await serve(app);
}

void main();
