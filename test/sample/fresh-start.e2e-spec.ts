import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * The path `npm start` takes on a fresh clone: `sample/main.ts` run by Node as a process of its
 * own, with no DATABASE_URL, so it starts the embedded PostgreSQL (PGlite) in `.sample-data/` of
 * its working directory, runs the migrations and seeds the demo users. Then the documented
 * requests sign in. Everything lives in a temporary directory that is removed at the end.
 */
const run = promisify(execFile);
// Relative to the repository root, where jest runs (no __dirname: the Nest 12 leg runs as ESM).
const REPO = resolve('.');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
/** Far more than a start needs (a few seconds); a hung start fails the test instead of jest. */
const START_TIMEOUT_MS = 40_000;
const STOP_TIMEOUT_MS = 10_000;
const ALICE = { username: 'alice', password: 'alice-demo-password' };

let work: string;
let main: string;

/**
 * Compiles the sample and the package the way `npm start` does (CommonJS, tsconfig.sample.json),
 * into `work/out`, never into the shared dist/ or dist-sample/. The package is compiled from lib/
 * beside the sample and found at run time as `npm start` finds dist/: by its own name, through a
 * package.json named `nest-session-security` whose `exports` point at the compiled lib/.
 * Type-checking is not this test's business (`npm run typecheck` does it), so --noCheck.
 */
async function compileSample(): Promise<string> {
  symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
  const out = join(work, 'out');
  const tsconfig = {
    extends: join(REPO, 'tsconfig.sample.json'),
    compilerOptions: {
      rootDir: REPO,
      outDir: out,
      sourceMap: false,
      paths: { 'nest-session-security': [join(REPO, 'lib', 'index.ts')] },
    },
    include: [join(REPO, 'sample'), join(REPO, 'lib')],
    exclude: [join(REPO, '**', '*.spec.ts')],
  };
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    await run(process.execPath, [TSC, '-p', join(work, 'tsconfig.json'), '--noCheck'], {
      cwd: work,
    });
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    throw new Error(`compiling the sample failed:\n${stdout ?? String(error)}`, { cause: error });
  }
  writeFileSync(
    join(out, 'package.json'),
    JSON.stringify({ name: 'nest-session-security', exports: { '.': './lib/index.js' } }),
  );
  return join(out, 'sample', 'main.js');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nss-fresh-start-'));
  main = await compileSample();
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The sample process, with everything it printed so far (for the messages of a failure). */
class SampleProcess {
  output = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves to the port of the start-up line ("Open http://localhost:<port>/ ..."). */
  async listening(): Promise<number> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const port = /Open http:\/\/localhost:(\d+)\//.exec(this.output)?.[1];
      if (port) return Number(port);
      if (this.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the sample did not start:\n${this.output}`);
  }

  /** SIGTERM, as Ctrl+C or a container stop would; SIGKILL if it hangs. Resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A cookie jar of one client: name=value pairs as the server last set them. */
function keepCookies(jar: Map<string, string>, response: Response): void {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

describe('npm start on a fresh clone (no DATABASE_URL)', () => {
  let sample: SampleProcess;

  afterEach(async () => {
    await sample?.stop();
  });

  it('starts the embedded database, migrates, seeds alice, and signs her in with the documented requests', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', NO_COLOR: '1' };
    delete env.DATABASE_URL;
    delete env.SAMPLE_ADAPTER;
    sample = new SampleProcess(
      spawn(process.execPath, [main], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const port = await sample.listening();
    expect(sample.output).toMatch(/embedded PostgreSQL \(PGlite\) in \.sample-data\//);
    expect(existsSync(join(work, '.sample-data', 'pglite'))).toBe(true);
    const base = `http://127.0.0.1:${port}`;
    const jar = new Map<string, string>();

    expect((await fetch(`${base}/api/me`)).status).toBe(401);

    const csrf = await fetch(`${base}/api/csrf`, { headers: { accept: 'application/json' } });
    expect(csrf.status).toBe(200);
    keepCookies(jar, csrf);
    const { token } = (await csrf.json()) as { token: string };

    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        cookie: cookieHeader(jar),
        'x-csrf-token': token,
      },
      body: JSON.stringify(ALICE),
    });
    expect({ status: login.status, body: await login.json() }).toMatchObject({
      status: 200,
      body: { user: { username: 'alice' } },
    });
    keepCookies(jar, login);

    const me = await fetch(`${base}/api/me`, {
      headers: { accept: 'application/json', cookie: cookieHeader(jar) },
    });
    expect({ status: me.status, body: await me.json() }).toMatchObject({
      status: 200,
      body: { user: { username: 'alice' }, session: { authenticatedAt: expect.any(String) } },
    });

    // Ctrl+C: the app, then the database, close; the data directory is unlocked for the next start.
    expect(await sample.stop()).toBe(0);
    expect(sample.output).toContain('SIGTERM: shutting down');
    expect(existsSync(join(work, '.sample-data', 'sample.lock'))).toBe(false);
  }, 90_000);
});
