#!/usr/bin/env bash
# The compose stack on one machine with podman-compose and nothing pulled (images from
# deploy/docker/build-local.sh). deploy/compose.yaml is rendered by render-compose.py into
# deploy/podman/compose.local.yaml (why, and what changes: see that script).
#   deploy/podman/stack.sh up       # render, start, wait until every container's healthcheck passes
#   deploy/podman/stack.sh down     # stop and remove containers and volumes (RAGLINE_LOCAL_DATA too)
#   deploy/podman/stack.sh ps|logs [service]|health
#   eval "$(deploy/podman/stack.sh env)"   # settings for the host's `ragline` CLI against the stack
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
export RAGLINE_LOCAL_DATA=${RAGLINE_LOCAL_DATA:-/var/tmp/ragline-podman/data}
export RAGLINE_LOCAL_PORT_OFFSET=${RAGLINE_LOCAL_PORT_OFFSET:-10000}
PROJECT=${RAGLINE_LOCAL_PROJECT:-ragline-local}
FILE=$here/compose.local.yaml
REDIS_PASSWORD=${REDIS_PASSWORD:-infini_rag_flow}
MYSQL_PASSWORD=${MYSQL_PASSWORD:-infini_rag_flow}

compose() { podman-compose -p "$PROJECT" -f "$FILE" "$@"; }
containers() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'; }

# every container of the project passes its image's/compose's healthcheck once (podman runs
# healthchecks from systemd timers, absent here, so they are run on demand)
health() {
  local names bad=() name
  names=$(containers)
  [[ -n $names ]] || { echo "no containers in project $PROJECT" >&2; return 1; }
  for name in $names; do
    podman healthcheck run "$name" >/dev/null 2>&1 || bad+=("$name")
  done
  if [[ ${#bad[@]} -gt 0 ]]; then echo "not healthy: ${bad[*]}"; return 1; fi
  echo "healthy: $(echo $names | wc -w) containers"
}

wait_healthy() {
  local deadline=$(($(date +%s) + ${1:-300})) out
  until out=$(health); do
    if [[ $(date +%s) -ge $deadline ]]; then
      echo "$out" >&2
      for name in $(containers); do
        echo "--- $name" >&2
        podman logs --tail 5 "$name" 2>&1 | cut -c1-400 >&2 || true
      done
      return 1
    fi
    sleep 5
  done
  echo "$out"
}

case ${1:-} in
  render)
    python3 "$here/render-compose.py" >"$FILE"
    echo "$FILE"
    ;;
  up)
    for image in nats redis mariadb prometheus; do
      podman image exists "localhost/ragline-local/$image:debian" || { echo "stack: image ragline-local/$image missing; run deploy/docker/build-local.sh --infra" >&2; exit 1; }
    done
    for app in ingest-bridge parser enricher embedder indexer monitor; do
      podman image exists "ragline/$app:${RAGLINE_VERSION:-0.1.0}" || { echo "stack: image ragline/$app missing; run deploy/docker/build-local.sh" >&2; exit 1; }
    done
    python3 "$here/render-compose.py" >"$FILE"
    # the apps run as uid 1000 (the base image's node user) and share this folder as /data
    mkdir -p "$RAGLINE_LOCAL_DATA"
    chown 1000:1000 "$RAGLINE_LOCAL_DATA"
    compose up -d >"$here/.compose-up.log" 2>&1 || { tail -30 "$here/.compose-up.log" >&2; exit 1; }
    wait_healthy "${RAGLINE_LOCAL_TIMEOUT:-300}"
    ;;
  down)
    [[ -f $FILE ]] || python3 "$here/render-compose.py" >"$FILE"
    compose down -v >/dev/null 2>&1 || true
    # podman-compose 1.0 leaves named volumes behind with `down -v` on some versions
    podman volume ls --format '{{.Name}}' | grep "^${PROJECT}_" | xargs -r podman volume rm -f >/dev/null
    rm -rf "$RAGLINE_LOCAL_DATA"
    ;;
  ps) compose ps ;;
  logs) shift; compose logs "$@" ;;
  health) health ;;
  env)
    o=$RAGLINE_LOCAL_PORT_OFFSET
    cat <<ENV
export NATS_URL=nats://127.0.0.1:$((4222 + o))
export REDIS_URL=redis://:$REDIS_PASSWORD@127.0.0.1:$((6379 + o))/1
export MYSQL_URL=mysql://root:$MYSQL_PASSWORD@127.0.0.1:$((3306 + o))/rag_flow
export RAGLINE_DATA_DIR=$RAGLINE_LOCAL_DATA
export MONITOR_PORT=$((8700 + o))
unset S3_ENDPOINT ELASTICSEARCH_URL EMBEDDING_URL REDIS_KEY_PREFIX
ENV
    ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
