#!/usr/bin/env bash
# The test command (npm test, and .ci/run): installs what the tests need, then type check, lint, build, vitest, and the core again on emulated ARM (scripts/test-arm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --test
# A fresh clone has no node_modules; reinstall whenever package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "== type check"; npx tsc -p tsconfig.json
echo "== lint";       npx eslint .
echo "== build";      npx tsc -p tsconfig.build.json
echo "== vitest";     npx vitest run "$@"
if [ $# -eq 0 ]; then echo "== arm (emulated)"; bash scripts/test-arm.sh --no-build; fi  # scripts/test-arm.sh; a filtered run (npm test -- FILE) skips it
