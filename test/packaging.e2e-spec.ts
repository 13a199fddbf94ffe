import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * What `npm publish` would ship. The package is built and packed in a copy of the working tree,
 * never in the shared `dist/`: the check sees what the current sources and `tsconfig.build.json`
 * produce, whether `dist/` is missing (the Nest 12 leg's copy has none), stale or fresh.
 */
const run = promisify(execFile);
// Relative to the repository root, where jest runs (no __dirname: the Nest 12 leg runs as ESM).
const REPO = resolve('.');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
/** Built or machine-local: never part of the copy (node_modules is linked back in for tsc). */
const NOT_COPIED = new Set([
  '.git',
  'node_modules',
  'dist',
  'dist-sample',
  'dist-bench',
  '.sample-data',
  'test-artifacts',
  'coverage',
]);

interface PackedFile {
  path: string;
}
interface PackResult {
  files: PackedFile[];
}
interface SourceMap {
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
}

let staged: string;
let packed: Set<string>;

beforeAll(async () => {
  staged = mkdtempSync(join(tmpdir(), 'nss-pack-'));
  cpSync(REPO, staged, {
    recursive: true,
    filter: (source) => source === REPO || !NOT_COPIED.has(posix.basename(source)),
  });
  symlinkSync(join(REPO, 'node_modules'), join(staged, 'node_modules'), 'dir');
  try {
    // --noCheck: the file list does not depend on types, and type errors are the build's and
    // the lint's to report. On the Nest 12 leg the ESM-only @nestjs types do not even check
    // under the package's CommonJS settings, yet the published dist/ is what Nest 11 builds.
    await run(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--noCheck'], { cwd: staged });
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    throw new Error(`tsc -p tsconfig.build.json failed:\n${stdout ?? String(error)}`, {
      cause: error,
    });
  }
  // --ignore-scripts: a prepack script would build into the copy again, or do worse.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: staged,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [result] = JSON.parse(stdout) as PackResult[];
  packed = new Set(result.files.map((file) => file.path));
}, 120_000);

afterAll(() => {
  if (staged) rmSync(staged, { recursive: true, force: true });
});

/** Paths as npm lists them (relative, `/`-separated, no `./`). */
function normalise(path: string): string {
  return posix.normalize(path).replace(/^\.\//, '');
}

/** Every file path named by the `exports` field, however deeply its conditions nest. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [normalise(exports)];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

describe('npm pack', () => {
  it('ships the licence, the README, the manifest and the built entry point with its types', () => {
    const required = ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts'];
    expect(required.filter((file) => !packed.has(file))).toEqual([]);
    expect(readFileSync(join(staged, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\s+Copyright \(c\) 2026 the nest-session-security contributors/,
    );
  });

  it('ships every file that main, types and exports point at', () => {
    const manifest = JSON.parse(readFileSync(join(staged, 'package.json'), 'utf8'));
    const targets = [manifest.main, manifest.types, ...exportTargets(manifest.exports)].map(
      normalise,
    );
    expect(targets.length).toBeGreaterThan(2);
    expect(targets.filter((target) => !packed.has(target))).toEqual([]);
  });

  it('ships nothing from test/, sample/, bench/, .ci/ or node_modules, and no spec', () => {
    const unwanted = [...packed].filter(
      (path) =>
        /(^|\/)(test|sample|bench|\.ci|node_modules)\//.test(path) ||
        /\.(e2e-)?spec\.[cm]?[jt]s(\.map)?$/.test(path) ||
        /\.spec\.d\.ts$/.test(path),
    );
    expect(unwanted).toEqual([]);
  });

  it('every source map resolves each source to a shipped file or carries its text', () => {
    const maps = [...packed].filter((path) => path.endsWith('.map'));
    expect(maps).toContain('dist/index.js.map');
    const unresolved: string[] = [];
    for (const path of maps) {
      const map = JSON.parse(readFileSync(join(staged, path), 'utf8')) as SourceMap;
      map.sources.forEach((source, i) => {
        const file = normalise(posix.join(posix.dirname(path), map.sourceRoot ?? '', source));
        if (!packed.has(file) && typeof map.sourcesContent?.[i] !== 'string') {
          unresolved.push(`${path}: ${source}`);
        }
      });
    }
    expect(unresolved).toEqual([]);
  });

  it('every sourceMappingURL of a shipped file names a shipped map', () => {
    const dangling: string[] = [];
    for (const path of [...packed].filter((p) => /\.(c|m)?js$|\.d\.ts$/.test(p))) {
      const text = readFileSync(join(staged, path), 'utf8');
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (url && !url.startsWith('data:')) {
        const target = normalise(posix.join(posix.dirname(path), url));
        if (!packed.has(target)) dangling.push(`${path} -> ${url}`);
      }
    }
    expect(dangling).toEqual([]);
  });
});
