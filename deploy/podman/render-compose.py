#!/usr/bin/env python3
"""Renders deploy/compose.yaml into a compose file that runs on one machine with podman-compose and
nothing pulled (written to stdout; deploy/podman/stack.sh writes it to deploy/podman/compose.local.yaml).

An override file cannot do this with podman-compose 1.0 (Debian bookworm): it appends lists
(ports, depends_on) instead of replacing them and has no profiles, so the changes are made on
the parsed file, from the file itself each time:
  - infra services whose image is built here from Debian packages (nats, redis, mysql as MariaDB,
    prometheus) get the localhost/ragline-local/<name>:debian image;
  - services with no Debian package (minio, elasticsearch, the OpenTelemetry collector, tempo,
    grafana, the tei profile) are left out, and the apps' settings naming them are dropped, so the
    apps use their local defaults: objects in RAGLINE_DATA_DIR/objects, the embedded (LanceDB) doc
    store, no trace export;
  - every app mounts one host directory at /data (RAGLINE_LOCAL_DATA), shared as `ragline up`
    shares RAGLINE_DATA_DIR, so the parser reads what `ragline ingest` stored and `ragline search`
    on the host reads the indexer's store;
  - published ports move up by RAGLINE_LOCAL_PORT_OFFSET (10000: 14222, 16379, 13306, 18700, ...)
    so the stack runs beside services already on the standard ports;
  - replicas are capped at RAGLINE_LOCAL_REPLICAS (1) and build sections dropped (build-local.sh
    builds the images).
"""
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, '..', 'compose.yaml')

LOCAL_IMAGES = {
    'nats': 'localhost/ragline-local/nats:debian',
    'redis': 'localhost/ragline-local/redis:debian',
    'mysql': 'localhost/ragline-local/mariadb:debian',
    'prometheus': 'localhost/ragline-local/prometheus:debian',
}
APPS = ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor']
# settings naming services left out; unset, the apps use their local defaults
DROPPED_ENV_PREFIXES = ('S3_', 'ELASTICSEARCH_', 'ES_', 'OTEL_')


def unset_default(value):
    # `EMBEDDING_URL: ${EMBEDDING_URL:-}` with the variable unset sets it to "", which the apps'
    # config rejects as an invalid URL instead of treating it as unset: leave such a key out
    m = re.fullmatch(r'\$\{([A-Za-z_][A-Za-z0-9_]*):-\}', str(value))
    return bool(m) and not os.environ.get(m.group(1))


def shift_port(spec, offset):
    # "127.0.0.1:4222:4222" -> "127.0.0.1:14222:4222"
    parts = str(spec).split(':')
    if len(parts) != 3:
        raise SystemExit(f'render-compose: unexpected port spec {spec!r} (want host_ip:host:container)')
    ip, host, container = parts
    return f'{ip}:{int(host) + offset}:{container}'


def render(doc, data_dir, offset, max_replicas):
    services = doc['services']
    kept = set(LOCAL_IMAGES) | set(APPS)
    missing = [name for name in kept if name not in services]
    if missing:
        raise SystemExit(f'render-compose: deploy/compose.yaml has no service {", ".join(sorted(missing))}')
    out = {}
    for name, svc in services.items():
        if name not in kept:
            continue
        svc = dict(svc)
        svc.pop('build', None)
        svc.pop('profiles', None)
        if name in LOCAL_IMAGES:
            svc['image'] = LOCAL_IMAGES[name]
        if 'ports' in svc:
            svc['ports'] = [shift_port(p, offset) for p in svc['ports']]
        # relative bind mounts are relative to deploy/; the rendered file lives in deploy/podman/
        vols = []
        for v in svc.get('volumes', []):
            if isinstance(v, str) and v.startswith('./'):
                v = '../' + v[2:]
            vols.append(v)
        if name in APPS:
            env = {k: v for k, v in svc.get('environment', {}).items()
                   if not k.startswith(DROPPED_ENV_PREFIXES) and not unset_default(v)}
            svc['environment'] = env
            vols = [v for v in vols if not str(v).split(':')[1:2] == ['/data']]
            vols.append(f'{data_dir}:/data')
            svc['tmpfs'] = [t for t in svc.get('tmpfs', []) if t != '/data']
            deps = svc.get('depends_on', {})
            svc['depends_on'] = {k: v for k, v in deps.items() if k in kept}
            deploy = dict(svc.get('deploy', {}))
            if 'replicas' in deploy:
                deploy['replicas'] = min(int(deploy['replicas']), max_replicas)
                svc['deploy'] = deploy
        if vols:
            svc['volumes'] = vols
        if isinstance(svc.get('depends_on'), dict):
            svc['depends_on'] = {k: v for k, v in svc['depends_on'].items() if k in kept}
            if not svc['depends_on']:
                del svc['depends_on']
        out[name] = svc
    used = set()
    for svc in out.values():
        for v in svc.get('volumes', []):
            src = str(v).split(':')[0]
            if not src.startswith(('/', '.')):
                used.add(src)
    volumes = {k: v for k, v in (doc.get('volumes') or {}).items() if k in used}
    return {'services': out, 'volumes': volumes}


class _NoAliases(yaml.SafeDumper):
    # the merged x-app-* blocks would come out as &id001 anchors; spell every service out
    def ignore_aliases(self, data):
        return True


def main():
    data_dir = os.environ.get('RAGLINE_LOCAL_DATA', '/var/tmp/ragline-podman/data')
    offset = int(os.environ.get('RAGLINE_LOCAL_PORT_OFFSET', '10000'))
    max_replicas = int(os.environ.get('RAGLINE_LOCAL_REPLICAS', '1'))
    with open(SOURCE) as f:
        doc = yaml.safe_load(f)
    rendered = render(doc, data_dir, offset, max_replicas)
    if '--json' in sys.argv[1:]:
        # for test/deploy/podman.test.ts
        json.dump(rendered, sys.stdout)
        return
    sys.stdout.write('# generated by deploy/podman/render-compose.py from deploy/compose.yaml; do not edit\n')
    yaml.dump(rendered, sys.stdout, Dumper=_NoAliases, sort_keys=False, default_flow_style=False)


if __name__ == '__main__':
    main()
