#!/bin/sh
# Builds what the Docker image runs: the compiled hub and its production node_modules, in OUT.
# The Dockerfile's build stage runs it; test/e2e/image.test.ts runs it outside Docker (no Docker
# engine there), so the image's build steps cannot rot unnoticed.
#   scripts/build-image.sh SRC OUT [npm ci flags, e.g. --prefer-offline]
# SRC holds package.json, package-lock.json, tsconfig.json and src/ (public/ and acl/ when present).
set -eu
src=$(cd "$1" && pwd)
out=$2
shift 2

cd "$src"
# Every dependency, TypeScript included, to compile. --ignore-scripts: our own 'prepare' would run
# tsc before we are ready, and nothing else is needed to compile.
npm ci --no-audit --no-fund --ignore-scripts "$@"
npx tsc -p tsconfig.json
node scripts/pack-towns.mjs # the towns' grid, dist/src/geo/towns.bin

mkdir -p "$out/dist"
cp -R dist/src "$out/dist/src"
chmod +x "$out/dist/src/cli.js" # the command on the image's PATH runs it through its #! line
cp package.json package-lock.json "$out/"
for d in public acl README.md; do [ -e "$d" ] && cp -R "$d" "$out/"; done
# The runtime tree has no TypeScript, so the build scripts must go: 'prepare' would run tsc there.
node -e '
  const fs = require("fs"); const f = process.argv[1]
  const p = JSON.parse(fs.readFileSync(f, "utf8"))
  p.scripts = { start: p.scripts.start }
  fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n")
' "$out/package.json"
cd "$out"
# Production dependencies only; their install scripts run (classic-level picks its prebuilt binary).
npm ci --omit=dev --no-audit --no-fund "$@"
node dist/src/cli.js --version
