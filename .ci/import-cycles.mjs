// Fails when the files of lib/ import each other in a circle (at run time: `import type` lines,
// which TypeScript erases, do not count). Together with the layer rule in eslint.config.mjs,
// which forbids imports from a higher folder, this keeps every dependency pointing one way.
// Usage: node .ci/import-cycles.mjs   (part of `npm run lint`)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..', 'lib');
const IMPORT = /^import\s+(type\s+)?[^;]*?from\s+'(\.[^']*)'/gms;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Each file's run-time imports of other files of lib/, as paths relative to lib/ without `.ts`. */
const graph = new Map();
for (const file of sources(root)) {
  const key = relative(root, file).replace(/\.ts$/, '');
  const imports = [];
  for (const [, typeOnly, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    if (typeOnly) continue;
    let target = normalize(join(dirname(key), spec));
    if (
      !graph.has(target) &&
      statSync(join(root, target), { throwIfNoEntry: false })?.isDirectory()
    )
      target = join(target, 'index');
    imports.push(target);
  }
  graph.set(key, imports);
}

const cycles = new Set();
const done = new Set();
function visit(node, path) {
  const at = path.indexOf(node);
  if (at >= 0) {
    const cycle = path.slice(at);
    const start = cycle.indexOf([...cycle].sort()[0]);
    cycles.add([...cycle.slice(start), ...cycle.slice(0, start)].join(' -> '));
    return;
  }
  if (done.has(node)) return;
  for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
  done.add(node);
}
for (const node of graph.keys()) visit(node, []);

if (cycles.size > 0) {
  console.error(`Import cycles in lib/ (${cycles.size}):`);
  for (const cycle of cycles) console.error(`  ${cycle}`);
  process.exit(1);
}
console.log(`lib/: ${graph.size} files, no import cycle`);
