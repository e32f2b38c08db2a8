#!/usr/bin/env bash
# The README's first command: installs what it needs, builds, then runs `ragline demo`: starts the five
# apps, ingests samples/ragline-overview.md through RAGFlow's Redis queue (embedded by the in-process
# model), prints a keyword search hit and a vector search hit that shares no word with its query, stops.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "installing pnpm..." >&2
  npm install -g pnpm@10.34.8 >/dev/null
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm turbo run build --output-logs=errors-only >/dev/null
exec node packages/cli/dist/main.js demo "$@"
