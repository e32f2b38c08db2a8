#!/usr/bin/env bash
# Builds Ragline's images with podman and no container registry (see "Containers without a
# registry" in deploy/README.md):
#   1. the Node 20 base from Debian packages (debootstrap) and npm (deploy/podman/base-image.sh),
#      tagged node:20-bookworm-slim so this directory's Dockerfile builds on it unchanged;
#   2. each app image with the unmodified Dockerfile, tagged as deploy/compose.yaml names them
#      (ragline/<app>:$RAGLINE_VERSION), printing build time and image size;
#   3. the infra images for a local compose run (nats, redis, mariadb, prometheus) from Debian
#      packages (deploy/podman/infra/*.Containerfile), tagged localhost/ragline-local/<name>:debian.
# Builds run one at a time under `nice -n 19`.
#   deploy/docker/build-local.sh                  # base (if missing), six apps, infra
#   deploy/docker/build-local.sh parser monitor   # base (if missing) and these apps only
#   deploy/docker/build-local.sh --infra          # base (if missing) and the infra images only
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/deploy/podman/containers.conf}
VERSION=${RAGLINE_VERSION:-0.1.0}
ALL_APPS=(ingest-bridge parser enricher embedder indexer monitor)
INFRA=(nats redis mariadb prometheus)

for tool in podman debootstrap npm; do
  command -v "$tool" >/dev/null || { echo "build-local: $tool not found (apt-get install -y podman buildah runc podman-compose debootstrap)" >&2; exit 1; }
done

apps=() infra=0
if [[ $# -eq 0 ]]; then apps=("${ALL_APPS[@]}"); infra=1; fi
for arg in "$@"; do
  case $arg in
    --infra) infra=1 ;;
    ingest-bridge|parser|enricher|embedder|indexer|monitor) apps+=("$arg") ;;
    *) echo "build-local: unknown argument $arg (apps: ${ALL_APPS[*]}; --infra)" >&2; exit 2 ;;
  esac
done

deploy/podman/base-image.sh

size() { podman image inspect --format '{{.Size}}' "$1" | numfmt --to=si --suffix=B; }

# name, tag, then the rest of the podman build arguments; prints one summary line
build() {
  local name=$1 tag=$2; shift 2
  local log start secs
  log=$(mktemp /var/tmp/ragline-build.XXXXXX.log)
  start=$(date +%s)
  # --format docker: the OCI image format has no HEALTHCHECK, and podman would drop the Dockerfile's
  # --force-rm: a failed build leaves no working container holding its layers
  if ! nice -n 19 podman build --format docker --pull=never --layers --force-rm -t "$tag" "$@" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "build-local: $name failed (full log: $log)" >&2
    exit 1
  fi
  secs=$(($(date +%s) - start))
  rm -f "$log"
  printf '%-14s %-40s %4dm%02ds %8s\n' "$name" "$tag" $((secs / 60)) $((secs % 60)) "$(size "$tag")"
}

for app in "${apps[@]}"; do
  build "$app" "localhost/ragline/$app:$VERSION" -f deploy/docker/Dockerfile --build-arg "APP=$app" .
done
if [[ $infra -eq 1 ]]; then
  for name in "${INFRA[@]}"; do
    build "$name" "localhost/ragline-local/$name:debian" -f "deploy/podman/infra/$name.Containerfile" deploy/podman/infra
  done
fi
