import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { topologyNames } from '@ragline/contracts';
import { describe, expect, it } from 'vitest';
import { kustomizationObjects, kustomizationReferences, readYamlDocuments, validateKubernetesObject, type KubernetesObject } from '../src/index.js';
import { APPS, DEPLOY } from './paths.js';

const BASE = join(DEPLOY, 'k8s', 'base');
const PROD = join(DEPLOY, 'k8s', 'overlays', 'production');
const names = topologyNames();

type Probe = { httpGet: { path: string; port: string | number } };
type Container = {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: { name: string; mountPath: string }[];
  envFrom?: unknown[];
};
type PodSpec = {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes: { name: string; emptyDir?: unknown }[];
};
type Workload = KubernetesObject & { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

const base = kustomizationObjects(BASE);
const prod = kustomizationObjects(PROD);
const find = <T = KubernetesObject>(objs: { object: KubernetesObject }[], kind: string, name: string) =>
  objs.map((o) => o.object).find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
const config = find<{ data: Record<string, string> }>(base, 'ConfigMap', 'ragline-config')!;

describe('kustomize', () => {
  it.each([
    ['base', BASE],
    ['production', PROD],
  ])('every file the %s kustomization refers to exists', (_n, dir) => {
    const refs = kustomizationReferences(dir);
    expect(refs.length).toBeGreaterThan(3);
    expect(refs.filter((r) => !r.exists).map((r) => `${relative(DEPLOY, r.kustomization)}: ${r.ref}`)).toEqual([]);
  });

  it('reports a missing resource', () => {
    expect(kustomizationReferences(join(DEPLOY, 'k8s')).some((r) => !r.exists)).toBe(true);
  });
});

describe('Kubernetes manifests validate against the Kubernetes and KEDA schemas', () => {
  const all = [...new Map([...base, ...prod].map((o) => [`${o.file}#${o.object.kind}/${o.object.metadata.name}`, o])).values()];
  it.each(all.map((o) => [`${relative(DEPLOY, o.file)} ${o.object.kind}/${o.object.metadata.name}`, o.object]))('%s', (_n, object) => {
    expect(validateKubernetesObject(object)).toEqual([]);
  });

  it('patch files validate as their kinds too', () => {
    for (const f of ['config-patch.yaml', 'scaledobject-patch.yaml', 'enricher-scaledobject-patch.yaml']) {
      for (const d of readYamlDocuments(join(PROD, f))) expect(validateKubernetesObject(d), f).toEqual([]);
    }
  });

  it('the schemas catch mistakes', () => {
    const d = structuredClone(find<Workload>(base, 'Deployment', 'parser')!);
    (d.spec as Record<string, unknown>).replicas = 'two';
    (d.spec.template.spec.containers[0]!.livenessProbe.httpGet as Record<string, unknown>).port = { name: 'health' };
    const problems = validateKubernetesObject(d);
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/spec/replicas']));
    expect(problems.some((p) => p.path.includes('livenessProbe'))).toBe(true);
    expect(validateKubernetesObject({ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } })[0]!.message).toMatch(/no schema/);
  });
});

describe.each(APPS)('Deployment %s', (app) => {
  const d = find<Workload>(base, 'Deployment', app)!;
  const pod = d?.spec.template.spec;
  const c = pod?.containers[0];

  it('exists with labels its selector matches', () => {
    expect(d).toBeDefined();
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    expect(c!.image).toMatch(new RegExp(`^ragline/${app}:\\d`));
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the port the app listens on', () => {
    const portVar = app === 'monitor' ? 'MONITOR_PORT' : 'HEALTH_PORT';
    const port = c!.ports.find((p) => p.name === c!.livenessProbe.httpGet.port)!;
    expect(port.containerPort).toBe(Number(config.data[portVar]));
    expect(c!.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c!.readinessProbe.httpGet.port).toBe(c!.livenessProbe.httpGet.port);
    expect(config.data[app === 'monitor' ? 'MONITOR_HOST' : 'HEALTH_HOST']).toBe('0.0.0.0');
  });

  it('gives the drain at least SHUTDOWN_GRACE_MS plus a margin before SIGKILL', () => {
    expect(pod!.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(Number(config.data.SHUTDOWN_GRACE_MS) + 5000);
  });

  it('runs as non-root on a read-only root filesystem with an emptyDir for RAGLINE_DATA_DIR', () => {
    expect(pod!.securityContext.runAsNonRoot).toBe(true);
    expect(pod!.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c!.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c!.securityContext.allowPrivilegeEscalation).toBe(false);
    const data = c!.volumeMounts.find((m) => m.mountPath === config.data.RAGLINE_DATA_DIR)!;
    expect(pod!.volumes.find((v) => v.name === data.name)!.emptyDir).toBeDefined();
  });

  it('has resource requests and limits and reads the ConfigMap and Secret', () => {
    expect(Object.keys(c!.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(c!.resources.limits.memory).toBeDefined();
    expect(c!.envFrom).toEqual([{ configMapRef: { name: 'ragline-config' } }, { secretRef: { name: 'ragline-secrets' } }]);
  });

  it('has a PodDisruptionBudget selecting its pods', () => {
    const pdb = find<{ spec: { selector: { matchLabels: Record<string, string> } } }>(base, 'PodDisruptionBudget', app)!;
    expect(d.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });
});

describe('monitor Service', () => {
  it('selects the monitor pods and targets their named port', () => {
    const svc = find<{ spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>(base, 'Service', 'monitor')!;
    const d = find<Workload>(base, 'Deployment', 'monitor')!;
    expect(d.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(d.spec.template.spec.containers[0]!.ports.map((p) => p.name)).toContain(svc.spec.ports[0]!.targetPort);
  });
});

type Trigger = { type: string; metadata: Record<string, string> };
type Scaled = { spec: { scaleTargetRef: { kind: string; name: string }; minReplicaCount: number; maxReplicaCount: number; triggers: Trigger[] } };

describe.each([
  ['embedder', 'scaledobject-patch.yaml', names.consumers.embedder],
  ['enricher', 'enricher-scaledobject-patch.yaml', names.consumers.enricher],
] as const)('KEDA ScaledObject %s', (stage, patchFile, consumer) => {
  const so = find<Scaled>(base, 'ScaledObject', stage)!;
  const patch = readYamlDocuments(join(PROD, patchFile))[0] as Scaled;

  it(`targets the ${stage} Deployment`, () => {
    expect(so.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: stage });
    expect(find(base, 'Deployment', so.spec.scaleTargetRef.name)).toBeDefined();
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['base', () => so],
    ['production', () => patch],
  ])(`%s: scales on the ${stage} consumer lag of the chunks stream`, (_n, get) => {
    const t = get().spec.triggers;
    expect(t).toHaveLength(1);
    expect(t[0]!.type).toBe('nats-jetstream');
    expect(t[0]!.metadata).toMatchObject({ account: '$G', stream: names.streams.chunks, consumer });
    expect(Number(t[0]!.metadata.lagThreshold)).toBeGreaterThan(0);
    expect(t[0]!.metadata.natsServerMonitoringEndpoint).toMatch(/^[a-z0-9.-]+:8222$/);
  });

  it('the production overlay patches it (its name matches a base object)', () => {
    expect((patch as unknown as KubernetesObject).kind).toBe('ScaledObject');
    expect((patch as unknown as KubernetesObject).metadata.name).toBe(stage);
  });
});

describe('production JetStream cluster', () => {
  const sts = find<Workload & { spec: { serviceName: string } }>(prod, 'StatefulSet', 'nats')!;
  const conf = readFileSync(join(PROD, 'nats', 'nats.conf'), 'utf8');

  it('runs 3 servers behind a headless Service', () => {
    expect(sts.spec.replicas).toBe(3);
    const headless = find<{ spec: { clusterIP: string } }>(prod, 'Service', sts.spec.serviceName)!;
    expect(headless.spec.clusterIP).toBe('None');
  });

  it('nats.conf enables JetStream and routes to every server', () => {
    expect(conf).toMatch(/^jetstream\s*\{[^}]*store_dir:\s*\/data/m);
    expect(conf).toMatch(/^cluster\s*\{/m);
    expect(conf).toMatch(/^server_name:\s*\$POD_NAME/m);
    const routes = [...conf.matchAll(/nats:\/\/(nats-\d)\.([a-z-]+)\.ragline\.svc\.cluster\.local:6222/g)];
    expect(routes.map((r) => r[1])).toEqual(['nats-0', 'nats-1', 'nats-2']);
    for (const r of routes) expect(r[2]).toBe(sts.spec.serviceName);
    const dataMount = sts.spec.template.spec.containers[0]!.volumeMounts.find((m) => m.name === 'data')!;
    expect(dataMount.mountPath).toBe('/data');
  });

  it('replicates every stream 3 times and points KEDA at the headless Service', () => {
    const patch = readYamlDocuments(join(PROD, 'config-patch.yaml'))[0] as { data: Record<string, string> };
    expect(patch.data.NATS_STREAM_REPLICAS).toBe('3');
    for (const f of ['scaledobject-patch.yaml', 'enricher-scaledobject-patch.yaml']) {
      const so = readYamlDocuments(join(PROD, f))[0] as Scaled;
      expect(so.spec.triggers[0]!.metadata.natsServerMonitoringEndpoint!.startsWith(`${sts.spec.serviceName}.`), f).toBe(true);
    }
  });
});
