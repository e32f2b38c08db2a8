#!/usr/bin/env bash
# The README's test command: installs what it needs (pnpm, dependencies), builds, runs every package's
# tests against the local NATS, Redis and MariaDB, and prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  npm install -g pnpm@10.34.8 >/dev/null 2>&1 || { echo "cannot install pnpm" >&2; exit 1; }
fi
pnpm install --frozen-lockfile --reporter=append-only >/dev/null || { echo "pnpm install failed" >&2; exit 1; }
find apps packages test -maxdepth 2 -name test-results.json -delete 2>/dev/null
pnpm turbo run build --output-logs=errors-only || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# tests run TypeScript without checking types, so type errors in tests and sources are caught here
pnpm turbo run typecheck --output-logs=errors-only || { echo "typecheck failed"; echo "0 passed, 1 failed"; exit 1; }
pnpm turbo run test --concurrency=1 --continue --output-logs=full
status=$?
node scripts/test-summary.mjs
summary=$?
[ $status -eq 0 ] && [ $summary -eq 0 ]
