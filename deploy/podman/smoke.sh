#!/usr/bin/env bash
# Smoke test of the compose stack under podman: brings it up (stack.sh up), ingests a freshly
# written document through the containers with the host's `ragline` CLI (objects go to the shared
# data folder, the task to the stack's Redis and MariaDB), waits for the parser, embedder and
# indexer containers to finish it, then finds it with `ragline search` (the indexer's store) and
# checks the monitor's HTTP API sees live workers. Tears the stack down unless RAGLINE_LOCAL_KEEP=1.
# Needs the images (deploy/docker/build-local.sh) and a built CLI (pnpm --filter @ragline/cli... build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=$root/packages/cli/dist/main.js
[[ -f $cli ]] || { echo "smoke: $cli missing; run pnpm --filter @ragline/cli... build" >&2; exit 1; }

cleanup() {
  if [[ ${RAGLINE_LOCAL_KEEP:-0} != 1 ]]; then "$here/stack.sh" down; fi
  rm -rf "$work"
}
work=$(mktemp -d /var/tmp/ragline-smoke.XXXXXX)
trap cleanup EXIT

echo "== stack up"
"$here/stack.sh" up
eval "$("$here/stack.sh" env)"

# a word no other document has, so finding it proves this document went through
nonce="quokka$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
doc=$work/podman-smoke-$nonce.md
cat >"$doc" <<DOC
# Podman smoke test

The $nonce ledger records every container that took part in this run: the ingest bridge moved
the parse task from Redis to JetStream, the parser split this file into chunks, the embedder
turned them into vectors and the indexer stored them where the search command reads.
DOC
kb="podman-smoke-$nonce"

echo "== ragline ingest"
node "$cli" ingest "$doc" --kb "$kb" --wait --timeout "${RAGLINE_SMOKE_TIMEOUT:-300}"

echo "== ragline search"
hits=$(node "$cli" search "$nonce ledger" --kb "$kb" --top 3 --json)
node -e '
  const [hits, nonce, name] = [JSON.parse(process.argv[1]), process.argv[2], process.argv[3]];
  const hit = hits.find((h) => h.docnm_kwd === name && h.content_with_weight.includes(nonce));
  if (!hit) { console.error(`smoke: no hit from ${name} containing ${nonce}:\n` + JSON.stringify(hits, null, 2)); process.exit(1); }
  console.log(`found ${name}: chunk ${hit.id} (score ${hit.score.toFixed(3)})`);
' "$hits" "$nonce" "$(basename "$doc")"

echo "== monitor"
# the monitor container serves its API on the published port; the apps' heartbeats reach it through Redis
node --input-type=module -e '
  const r = await fetch(`http://127.0.0.1:${process.env.MONITOR_PORT}/api/workers`);
  if (r.status !== 200) { console.error(`smoke: /api/workers answered ${r.status}`); process.exit(1); }
  const alive = (await r.json()).workers.filter((w) => w.alive).map((w) => w.name);
  if (!alive.length) { console.error("smoke: the monitor sees no live worker"); process.exit(1); }
  console.log(`monitor: live workers ${alive.join(", ")}`);
'
echo "smoke: ok"
