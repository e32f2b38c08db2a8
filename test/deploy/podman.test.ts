import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Containers without a registry (deploy/README.md): what renders the compose file and the k8s
// manifests for podman is checked wherever python3-yaml is; building the images and running the
// stack take minutes per image, so those run only with RAGLINE_PODMAN_TESTS=1 on a machine with podman.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PODMAN_DIR = join(ROOT, 'deploy', 'podman');
const APPS = ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor'];

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const pythonYaml = has('python3', ['-c', 'import yaml']);
const renderSkip = pythonYaml ? '' : 'python3 with PyYAML (apt-get install -y python3-yaml) is not installed';
const podmanSkip =
  process.env.RAGLINE_PODMAN_TESTS !== '1'
    ? 'RAGLINE_PODMAN_TESTS=1 not set (image builds take minutes each)'
    : !has('podman', ['--version'])
      ? 'podman is not installed (apt-get install -y podman buildah runc podman-compose debootstrap)'
      : !has('podman-compose', ['--version'])
        ? 'podman-compose is not installed'
        : renderSkip;

interface Service {
  image: string;
  ports?: string[];
  volumes?: string[];
  tmpfs?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  build?: unknown;
  deploy?: { replicas?: number };
}

function renderCompose(env: Record<string, string> = {}): { services: Record<string, Service> } {
  const out = execFileSync('python3', [join(PODMAN_DIR, 'render-compose.py'), '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { services: Record<string, Service> };
}

describe.skipIf(renderSkip)(`podman renderings${renderSkip ? ` (skipped: ${renderSkip})` : ''}`, () => {
  it('compose: only images built here, shifted ports, one shared /data, no settings for absent services', () => {
    const { services } = renderCompose({ RAGLINE_LOCAL_DATA: '/var/tmp/x', RAGLINE_LOCAL_PORT_OFFSET: '20000' });
    expect(Object.keys(services).sort()).toEqual([...APPS, 'mysql', 'nats', 'prometheus', 'redis'].sort());
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toMatch(/^(localhost\/ragline-local\/[a-z]+:debian|ragline\/[a-z-]+:\$\{RAGLINE_VERSION:-0\.1\.0\})$/);
      expect(svc.build, name).toBeUndefined();
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
    }
    expect(services.nats!.ports).toEqual(['127.0.0.1:24222:4222', '127.0.0.1:28222:8222']);
    expect(services.mysql!.ports).toEqual(['127.0.0.1:23306:3306']);
    expect(services.monitor!.ports).toEqual(['127.0.0.1:28700:8700']);
    for (const app of APPS) {
      const svc = services[app]!;
      expect(svc.volumes, app).toEqual(['/var/tmp/x:/data']);
      expect(svc.tmpfs, app).toEqual(['/tmp']);
      const keys = Object.keys(svc.environment ?? {});
      expect(keys, app).toContain('NATS_URL');
      expect(keys.filter((k) => /^(S3_|ELASTICSEARCH_|ES_|OTEL_)/.test(k)), app).toEqual([]);
      if (svc.deploy?.replicas !== undefined) expect(svc.deploy.replicas, app).toBe(1);
    }
    // `${EMBEDDING_URL:-}` with the variable unset would be "", which the embedder's config refuses
    expect(services.embedder!.environment).not.toHaveProperty('EMBEDDING_URL');
    const withUrl = renderCompose({ EMBEDDING_URL: 'http://tei:80' }).services.embedder!.environment!;
    expect(withUrl.EMBEDDING_URL).toBe('$' + '{EMBEDDING_URL:-}');
    // the rendering follows deploy/compose.yaml: an app's own settings survive it
    expect(services.enricher!.environment).toHaveProperty('ENRICHER_CONCURRENCY');
    expect(readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8')).toContain('ENRICHER_CONCURRENCY');
  });

  it('kube: six Deployments and the ConfigMap, nothing podman cannot play, replicas 1', () => {
    const out = execFileSync('python3', [join(PODMAN_DIR, 'kube.py'), 'render', '--json'], { encoding: 'utf8' });
    const { played, secrets } = JSON.parse(out) as {
      played: { kind: string; metadata: { name: string; labels: Record<string, string> }; spec?: { replicas: number }; data?: Record<string, string> }[];
      secrets: Record<string, Record<string, string>>;
    };
    const deployments = played.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...APPS].sort());
    expect([...new Set(played.map((d) => d.kind))].sort()).toEqual(['ConfigMap', 'Deployment']);
    for (const d of deployments) {
      expect(d.spec!.replicas).toBe(1);
      expect(d.metadata.labels['app.kubernetes.io/part-of']).toBe('ragline');
    }
    const cfg = played.find((d) => d.kind === 'ConfigMap')!.data!;
    expect(cfg.NATS_URL).toBe('nats://nats:4222');
    expect(Object.keys(cfg).filter((k) => /^(S3_|ELASTICSEARCH_|ES_|OTEL_)/.test(k))).toEqual([]);
    expect(secrets['ragline-secrets']!.MYSQL_URL).toBe('mysql://root:infini_rag_flow@mysql:3306/rag_flow');
    // the placeholder is too short for the monitor (16 characters at least)
    expect(secrets['ragline-secrets']!.MONITOR_TOKEN!.length).toBeGreaterThanOrEqual(16);
    // podman 4.3 would publish every containerPort on the host: the played copy has none, probes by number
    const playedFile = readFileSync(join(PODMAN_DIR, 'kube.local.yaml'), 'utf8');
    expect(playedFile).not.toContain('containerPort');
    expect(playedFile).toMatch(/port: 8080/);
  });
});

function run(cmd: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${out.slice(-6000)}`);
  return out;
}

describe.skipIf(podmanSkip)(`podman images and stack${podmanSkip ? ` (skipped: ${podmanSkip})` : ''}`, () => {
  afterAll(() => {
    spawnSync('python3', [join(PODMAN_DIR, 'kube.py'), 'down'], { stdio: 'ignore' });
    spawnSync(join(PODMAN_DIR, 'stack.sh'), ['down'], { stdio: 'ignore' });
  });

  it('build-local.sh builds the base, the six apps and the infra images', () => {
    const out = run(join(ROOT, 'deploy', 'docker', 'build-local.sh'), [], 3 * 3600_000);
    for (const name of [...APPS, 'nats', 'redis', 'mariadb', 'prometheus']) {
      expect(out).toMatch(new RegExp(`^${name}\\s+\\S+\\s+\\d+m\\d\\ds\\s+\\S+B$`, 'm'));
    }
  }, 3 * 3600_000);

  it('the compose stack ingests a document through the containers and finds it', () => {
    const out = run('bash', ['-c', `RAGLINE_LOCAL_KEEP=1 ${join(PODMAN_DIR, 'smoke.sh')}`], 900_000);
    expect(out).toMatch(/^found podman-smoke-quokka[0-9a-f]+\.md: chunk /m);
    expect(out).toContain('smoke: ok');
  }, 900_000);

  it('kube play of deploy/k8s/base: env, probes and volumes as the manifests say', () => {
    const out = run('python3', [join(PODMAN_DIR, 'kube.py'), 'play'], 600_000);
    for (const app of APPS) expect(out).toMatch(new RegExp(`^${app}-pod-0-${app}: \\d+ env, 3 probes`, 'm'));
    expect(out).toContain('kube check: ok');
  }, 600_000);
});
