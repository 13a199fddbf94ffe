import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionModule, SessionModuleOptions } from 'nest-session-security';
import { ADAPTERS, startApp, storageOptions, typeOrmRoot } from './support/test-app';

/** The warnings the session module logged while `start` ran (Nest `Logger` with its context). */
async function moduleWarnings(start: () => Promise<{ close(): Promise<void> }>): Promise<string[]> {
  const warn = jest.spyOn(Logger.prototype, 'warn');
  try {
    const app = await start();
    await app.close();
    return warn.mock.calls
      .filter((_, i) => (warn.mock.contexts[i] as { context?: string }).context === 'SessionModule')
      .map(([message]) => String(message));
  } finally {
    warn.mockRestore();
  }
}

describe.each(ADAPTERS)('cookie-tossing warning at start-up (%s)', (adapter) => {
  const warningsFor = (options: SessionModuleOptions) =>
    moduleWarnings(() => startApp(adapter, { options }));

  it('issue 11 §4: the default cookie names (__Host-sid, __Host-remember) log no warning', async () => {
    expect(await warningsFor({})).toEqual([]);
  });

  it('issue 11 §4: cookie.secure false (plain-http development) logs no warning', async () => {
    expect(await warningsFor({ cookie: { secure: false } })).toEqual([]);
  });

  it.each(['__Secure-sid', 'sid'])(
    'issue 11 §4: a Secure cookie named %s logs exactly one warning that explains cookie tossing',
    async (name) => {
      const warnings = await warningsFor({ cookie: { name } });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^Cookie tossing: /);
      expect(warnings[0]).toContain(`cookie.name "${name}" does not start with "__Host-"`);
      expect(warnings[0]).toContain('sibling subdomain');
    },
  );

  it('issue 11 §4: a remember-me cookie name without __Host- is named in that one warning', async () => {
    const warnings = await warningsFor({
      cookie: { name: 'sid' },
      rememberMe: { cookieName: 'rm' },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('cookie.name "sid" and rememberMe.cookieName "rm"');
  });

  it('issue 11 §4: forRootAsync logs it once too', async () => {
    const warnings = await moduleWarnings(() =>
      startApp(adapter, {
        sessionModule: SessionModule.forRootAsync({
          useFactory: () => ({
            cookie: { name: '__Secure-sid' },
            csrf: { enabled: false },
            ...storageOptions(),
          }),
        }),
      }),
    );
    expect(warnings).toHaveLength(1);
  });
});

/** Collects what the application's own logger receives. */
class CapturingLogger implements LoggerService {
  readonly warnings: { message: string; context: unknown }[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown, context?: unknown): void {
    this.warnings.push({ message: String(message), context });
  }
}

describe("cookie-tossing warning reaches the application's logger", () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  it('issue 11 §4: the logger given to createNestApplication gets it, in the SessionModule context', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        typeOrmRoot(),
        SessionModule.forRoot({ cookie: { name: '__Secure-sid' }, ...storageOptions() }),
      ],
    }).compile();
    const logger = new CapturingLogger();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    const tossing = logger.warnings.filter(({ message }) => message.startsWith('Cookie tossing'));
    expect(tossing).toEqual([
      { message: expect.stringContaining('cookie.name "__Secure-sid"'), context: 'SessionModule' },
    ]);
  });
});
