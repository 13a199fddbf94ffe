#!/usr/bin/env bash
# Runs the test suites against NestJS 12 (ESM-only packages) in a throwaway copy of the repository,
# so the working tree's Nest 11 node_modules are never touched.
#   usage: .ci/test-nest12.sh [jest-json-output [test paths...]]
#          (default output: test-artifacts/nest12-results.json; default: every suite)
# Env: KEEP_WORKDIR=1 keeps the copy; TEST_DATABASE / DATABASE_URL as for the Nest 11 leg.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Resolve the output path against the caller's directory before we cd anywhere.
out=${1:-$repo/test-artifacts/nest12-results.json}
shift || true
[[ $out == /* ]] || out=$PWD/$out
mkdir -p "$(dirname "$out")"
export npm_config_loglevel=error npm_config_audit=false npm_config_fund=false
# Prefix of this leg's database names, so `psql -l` tells the legs apart. Every run's names are
# unique anyway (<prefix>_<random run id>), created by the run and dropped at its end.
export TEST_DATABASE=${TEST_DATABASE:-nest_session_security_test_nest12}

work=$(mktemp -d "${TMPDIR:-/tmp}/nest12-leg.XXXXXX")
if [[ -n ${KEEP_WORKDIR:-} ]]; then echo "work dir: $work"; else trap 'rm -rf "$work"' EXIT; fi

# Working-tree versions of tracked and untracked-but-not-ignored files, so uncommitted work is
# tested too; files deleted in the working tree are skipped.
cd "$repo"
git ls-files -z -co --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$work"

# Root manifest with the @nestjs pins of .ci/nest12/package.json; installing from the root lockfile
# keeps every other package at the exact version the Nest 11 leg uses.
cd "$work"
node - .ci/nest12/package.json package.json <<'JS'
const fs = require('fs');
const [pinsFile, manifestFile] = process.argv.slice(2);
const pins = JSON.parse(fs.readFileSync(pinsFile, 'utf8')).devDependencies;
const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
for (const field of ['dependencies', 'devDependencies']) {
  for (const name of Object.keys(manifest[field] ?? {})) {
    // A new @nestjs package without a Nest 12 pin would silently stay on 11: refuse instead.
    if (name.startsWith('@nestjs/') && !pins[name]) {
      console.error(`${name} has no Nest 12 version in ${pinsFile}`);
      process.exit(1);
    }
  }
}
manifest.devDependencies = { ...manifest.devDependencies, ...pins };
fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
JS
# --legacy-peer-deps: npm places packages in name order, so it would check @nestjs/apollo 14's peer
# @nestjs/common ^12 while @nestjs/common is still the locked 11 and give up (ERESOLVE). Every peer
# the suites need is a pinned or locked devDependency, so nothing is left out by skipping the check.
npm install --no-save --legacy-peer-deps </dev/null >/dev/null

node -e '
  const names = Object.keys(require("./.ci/nest12/package.json").devDependencies);
  const version = (n) => require("fs").readFileSync(`node_modules/${n}/package.json`, "utf8");
  for (const n of names) console.log(`testing with ${n}@${JSON.parse(version(n)).version}`);
'

# Jest can only load ESM-only packages through Node's VM modules (its warning is just noise here).
export NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning ${NODE_OPTIONS:-}"
rc=0
node_modules/.bin/jest --config .ci/nest12/jest.config.mjs --runInBand --json --outputFile="$out" "$@" </dev/null || rc=$?
echo "jest results: $out (exit $rc)"
exit "$rc"
