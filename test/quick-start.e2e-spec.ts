import { ChildProcess, execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import {
  createTestDatabase,
  dropTestDatabase,
  runDatabaseName,
  usesEmbeddedPostgres,
} from './support/database-url';
import { parseSetCookies, ParsedCookie } from './support/http-client';

/**
 * The README's quick start as a user pastes it: its files (the fenced blocks whose info string
 * names a `file=`) are written into a fresh directory, compiled with tsc as a CommonJS app,
 * against the package as `npm pack` ships it, and started as its own process; then the
 * requests the README shows are made. Dependencies other than the package resolve from the
 * repository's node_modules (the directory is inside the repository), so on the Nest 12 leg the
 * app runs on Nest 12 (ESM-only, loaded through Node's require(esm)).
 */
const run = promisify(execFile);
// Relative to the repository root, where jest runs (no __dirname: the Nest 12 leg runs as ESM).
const REPO = resolve('.');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const COOKIE = '__Host-sid';
const START_TIMEOUT_MS = 30_000;

/** The app's compiler settings: a CommonJS Nest app. `nodenext` lets it require ES modules. */
const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: ['node'],
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

/** `file=` blocks of the README's "Quick start" section, by path. */
function quickStartFiles(): Map<string, string> {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = /^## Quick start\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const files = new Map<string, string>();
  for (const block of section.matchAll(/^```\w+ file=(\S+)\n([\s\S]*?)^```$/gm)) {
    files.set(block[1], block[2]);
  }
  return files;
}

async function runTool(file: string, args: string[], cwd: string): Promise<string> {
  try {
    return (await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${[file, ...args].join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, {
      cause: error,
    });
  }
}

/**
 * Builds the package from the current sources and packs it as `npm pack` does, into `into`;
 * returns the tarball's path. The build goes to a staging directory, never to the shared
 * `dist/` (which the Nest 12 leg's copy of the repository does not have). `nodenext` lets the
 * CommonJS build type-check against the ESM-only Nest 12 packages; the emitted CommonJS is the
 * same as with the repository's `node16`.
 */
async function packPackage(into: string): Promise<string> {
  const staging = join(into, 'package');
  mkdirSync(staging);
  for (const file of ['package.json', 'README.md', 'LICENSE']) {
    if (existsSync(join(REPO, file))) copyFileSync(join(REPO, file), join(staging, file));
  }
  await runTool(
    process.execPath,
    [TSC, '-p', 'tsconfig.build.json', '--outDir', join(staging, 'dist')].concat([
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
    ]),
    REPO,
  );
  // --ignore-scripts: a prepack script would try to build in the staging directory.
  const stdout = await runTool(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', into],
    staging,
  );
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  return join(into, filename);
}

/** Writes the README's files, installs the packed package and compiles the app. */
async function buildApp(dir: string, files: Map<string, string>): Promise<void> {
  const tarball = await packPackage(dir);
  const installed = join(dir, 'node_modules', 'nest-session-security');
  mkdirSync(installed, { recursive: true });
  await runTool('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], dir);
  for (const [path, text] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'commonjs' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2));
  await runTool(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts `dist/main.js` and resolves once it answers HTTP; rejects with its output if it exits. */
async function startApp(dir: string, env: NodeJS.ProcessEnv, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(dir, 'dist', 'main.js')], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the app exited (${code}):\n${output}`))),
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  const answering = (async () => {
    for (;;) {
      try {
        await fetch(`${url}/csrf`);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`the app did not answer in time:\n${output}`);
        await new Promise((wake) => setTimeout(wake, 200));
      }
    }
  })();
  try {
    await Promise.race([answering, exited]);
  } catch (error) {
    child.kill();
    throw error;
  }
  exited.catch(() => undefined);
  return child;
}

async function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

function sessionCookie(response: request.Response): ParsedCookie | undefined {
  return parseSetCookies(response.headers['set-cookie']).find((cookie) => cookie.name === COOKIE);
}

// The quick start takes the package's defaults, prepared statements included, which the
// embedded PostgreSQL's single shared backend cannot keep: it runs on a real server only.
const describeOnServer = usesEmbeddedPostgres() ? describe.skip : describe;

describeOnServer('README quick start, pasted into a fresh two-module app', () => {
  const database = runDatabaseName('quick_start');
  let dir: string;
  let app: ChildProcess | undefined;
  let url: string;

  beforeAll(async () => {
    const files = quickStartFiles();
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    dir = mkdtempSync(join(REPO, 'test-artifacts', 'quick-start-'));
    const [databaseUrl] = await Promise.all([createTestDatabase(database), buildApp(dir, files)]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    app = await startApp(dir, { DATABASE_URL: databaseUrl, PORT: String(port) }, url);
  }, 120_000);

  afterAll(async () => {
    if (app) await stopApp(app);
    await dropTestDatabase(database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('shows a root module and a feature module with its controller, in files of their own', () => {
    expect([...quickStartFiles().keys()].sort()).toEqual([
      'src/app.module.ts',
      'src/auth/auth.controller.ts',
      'src/auth/auth.module.ts',
      'src/auth/users.service.ts',
      'src/main.ts',
    ]);
  });

  it('signs in with the CSRF token, serves /me to the session, and signs out', async () => {
    // Nobody is signed in: the guard refuses the protected route.
    const anonymous = await request(url).get('/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('session_required');

    // Step 1: a token, and the cookie it belongs to (a pre-session: nothing is stored yet).
    const csrf = await request(url).get('/csrf');
    expect(csrf.status).toBe(200);
    const preLoginToken: string = csrf.body.token;
    expect(preLoginToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const preSession = sessionCookie(csrf)!;
    expect(preSession.attributes).toMatchObject({ path: '/', httponly: true, secure: true });
    expect(preSession.attributes.samesite).toMatch(/^lax$/i);

    // Without the token, the sign-in is refused; with it, it succeeds under a new session ID.
    const withoutToken = await request(url)
      .post('/login')
      .set('Cookie', `${COOKIE}=${preSession.value}`)
      .send({ username: 'alice', password: 'alice-password' });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.body.code).toBe('csrf_token_invalid');

    const wrongPassword = await request(url)
      .post('/login')
      .set('Cookie', `${COOKIE}=${preSession.value}`)
      .set('x-csrf-token', preLoginToken)
      .send({ username: 'alice', password: 'not-her-password' });
    expect(wrongPassword.status).toBe(401);

    const login = await request(url)
      .post('/login')
      .set('Cookie', `${COOKIE}=${preSession.value}`)
      .set('x-csrf-token', preLoginToken)
      .send({ username: 'alice', password: 'alice-password' });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ user: { id: '1', username: 'alice' } });
    const session = sessionCookie(login)!;
    expect(session.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.value).not.toBe(preSession.value);
    expect(session.attributes).toMatchObject({ path: '/', httponly: true, secure: true });
    expect(session.attributes['max-age']).toBeUndefined();
    const cookie = `${COOKIE}=${session.value}`;

    const me = await request(url).get('/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: { id: '1', username: 'alice' } });

    // Step 2: sign-in renewed the secret, so the token from before it no longer works.
    const staleToken = await request(url)
      .post('/logout')
      .set('Cookie', cookie)
      .set('x-csrf-token', preLoginToken);
    expect(staleToken.status).toBe(403);
    expect(staleToken.body.code).toBe('csrf_token_invalid');

    const fresh = await request(url).get('/csrf').set('Cookie', cookie);
    expect(fresh.status).toBe(200);
    const logout = await request(url)
      .post('/logout')
      .set('Cookie', cookie)
      .set('x-csrf-token', fresh.body.token);
    expect(logout.status).toBe(204);
    expect(sessionCookie(logout)?.attributes['max-age']).toBe('0');

    // The signed-out cookie reaches nothing.
    const replay = await request(url).get('/me').set('Cookie', cookie);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('session_required');
  });
});
