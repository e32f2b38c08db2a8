#!/bin/sh
# Debian bookworm's nats-server (2.9) has no --max_payload flag (2.10 added it), which compose.yaml's
# command passes; the same limit goes in a config file instead, the other flags through unchanged.
set -eu
conf=/tmp/nats-max-payload.conf
: >"$conf"
n=$#
i=0
while [ "$i" -lt "$n" ]; do
  arg=$1; shift; i=$((i + 1))
  if [ "$arg" = "--max_payload" ] && [ "$i" -lt "$n" ]; then
    printf 'max_payload: %s\n' "$1" >>"$conf"; shift; i=$((i + 1))
  else
    set -- "$@" "$arg"
  fi
done
if [ -s "$conf" ]; then set -- -c "$conf" "$@"; fi
exec nats-server "$@"
