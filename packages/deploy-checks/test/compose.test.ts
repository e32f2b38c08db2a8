import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageTag, interpolateCompose, loadCompose, validateCompose } from '../src/index.js';
import { APPS, DEPLOY } from './paths.js';

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  read_only?: boolean;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const file = join(DEPLOY, 'compose.yaml');
const compose = loadCompose(file) as unknown as Compose;
const withTei = loadCompose(file, { EMBEDDING_URL: 'http://tei:80', EMBEDDING_KIND: 'tei', EMBEDDING_MODEL: 'BAAI/bge-small-en-v1.5' }) as unknown as Compose;

describe('deploy/compose.yaml', () => {
  it('validates against the Compose Specification schema (defaults and the tei settings)', () => {
    expect(validateCompose(compose)).toEqual([]);
    expect(validateCompose(withTei)).toEqual([]);
  });

  it('the schema check catches mistakes', () => {
    const broken = structuredClone(compose);
    broken.services.parser!.depends_on!.nats!.condition = 'service_up';
    (broken.services.monitor as Record<string, unknown>).helthcheck = { test: ['CMD', 'true'] };
    const problems = validateCompose(broken);
    expect(problems.some((p) => p.path.includes('/services/parser/depends_on'))).toBe(true);
    expect(problems.some((p) => p.message.includes('helthcheck'))).toBe(true);
  });

  it('runs the full stack and the six apps', () => {
    for (const s of ['nats', 'redis', 'mysql', 'minio', 'elasticsearch', 'otel-collector', 'tempo', 'prometheus', 'grafana', ...APPS]) {
      expect(compose.services, s).toHaveProperty(s);
    }
    expect(compose.services.nats!.volumes).toContain('nats-data:/data');
    expect((compose.services.nats as { command: string[] }).command).toContain('--jetstream');
    expect(compose.services.mysql!.environment!.MYSQL_DATABASE).toBe('rag_flow');
    expect(compose.services.embedder!.deploy!.replicas).toBe(3);
    expect(compose.services.enricher!.deploy!.replicas).toBe(2);
  });

  it('every depends_on service_healthy points at a service with a healthcheck', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect(compose.services, `${name} -> ${dep}`).toHaveProperty(dep);
        if (condition === 'service_healthy') expect(compose.services[dep]!.healthcheck, `${dep} (needed by ${name})`).toBeDefined();
      }
    }
  });

  it.each(APPS)('%s builds from the shared Dockerfile and gets its config from env', (app) => {
    const svc = compose.services[app]!;
    expect(svc.build!.args!.APP).toBe(app);
    expect(existsSync(resolve(DEPLOY, svc.build!.context, svc.build!.dockerfile))).toBe(true);
    const env = svc.environment!;
    expect(env.NATS_URL).toBe('nats://nats:4222');
    expect(env.REDIS_URL).toMatch(/^redis:\/\/:[^@]+@redis:6379\/1$/);
    expect(env.MYSQL_URL).toMatch(/^mysql:\/\/root:[^@]+@mysql:3306\/rag_flow$/);
    expect(env.S3_ENDPOINT).toBe('http://minio:9000');
    expect(env.ELASTICSEARCH_URL).toBe('http://elasticsearch:9200');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    for (const dep of ['nats', 'redis', 'mysql', 'minio', 'elasticsearch']) expect(svc.depends_on![dep]!.condition).toBe('service_healthy');
    expect(svc.read_only).toBe(true);
    // the port deploy/observability/prometheus.yaml scrapes
    if (app !== 'monitor') expect(env.HEALTH_PORT).toBe('9464');
    // docker stops after stop_grace_period; the apps need SHUTDOWN_GRACE_MS to drain
    expect(Number.parseInt(svc.stop_grace_period!, 10) * 1000).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_MS));
  });

  it('the tei profile is optional and switches the embedder to it through env', () => {
    expect(compose.services.tei!.profiles).toEqual(['tei']);
    expect(compose.services.embedder!.environment!.EMBEDDING_URL).toBe('');
    expect(withTei.services.embedder!.environment!.EMBEDDING_URL).toBe('http://tei:80');
    expect(withTei.services.embedder!.environment!.EMBEDDING_KIND).toBe('tei');
    // deploy/tei.env is the documented way to turn it on
    const teiEnv = Object.fromEntries(
      readFileSync(join(DEPLOY, 'tei.env'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('=') && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(loadCompose(file, teiEnv) as unknown).toEqual(withTei);
    expect(teiEnv.EMBEDDING_URL).toBe('http://tei:80');
  });

  it('observability configs are mounted from ./observability/', () => {
    const mounts = ['otel-collector', 'tempo', 'prometheus', 'grafana'].flatMap((s) => compose.services[s]!.volumes ?? []);
    const binds = mounts.filter((m) => m.startsWith('./'));
    expect(binds.length).toBeGreaterThanOrEqual(4);
    for (const b of binds) {
      expect(b.startsWith('./observability/')).toBe(true);
      expect(existsSync(resolve(DEPLOY, b.split(':')[0]!)), b).toBe(true);
    }
  });

  it('every image has an explicit tag other than latest', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const tag = imageTag(svc.image!);
      expect(tag, name).toBeDefined();
      expect(tag, name).not.toBe('latest');
    }
  });

  it('named volumes used by services are declared', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes, `${name}: ${source}`).toHaveProperty(source);
      }
    }
  });
});

describe('interpolateCompose', () => {
  it('handles defaults, required variables and $$ escapes like Compose', () => {
    expect(interpolateCompose('a=${A:-x} b=${B-y} c=$C d=$${D} e=${E}', { A: '', B: '', C: '3' })).toBe('a=x b= c=3 d=${D} e=');
    expect(interpolateCompose('${A:?needed}', { A: 'v' })).toBe('v');
    expect(() => interpolateCompose('${A:?needed}', {})).toThrow(/A is not set/);
  });
});
