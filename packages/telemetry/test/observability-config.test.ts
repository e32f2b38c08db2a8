import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIR = join(ROOT, 'deploy', 'observability');

/** parsed config: shapes are asserted, not typed */
type Obj = Record<string, any>;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}
const load = (rel: string): Obj => {
  const text = readFileSync(join(DIR, rel), 'utf8');
  return (rel.endsWith('.json') ? JSON.parse(text) : parse(text)) as Obj;
};
/** Every value under `key` anywhere in a JSON tree. */
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const n of node) collect(n, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}
const portOf = (endpoint: string) => Number(/:(\d+)(\/|$)/.exec(endpoint)?.[1]);

describe('deploy/observability', () => {
  it('every YAML and JSON file parses', () => {
    const found = files(DIR).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(found.length).toBeGreaterThanOrEqual(7);
    for (const f of found) expect(() => load(relative(DIR, f)), f).not.toThrow();
  });

  const collector = load('otel-collector.yaml');

  it('collector: every component a pipeline names is defined, and OTLP comes in over gRPC and HTTP', () => {
    const pipelines = collector.service.pipelines as Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
    expect(Object.keys(pipelines).length).toBeGreaterThan(0);
    const connectors = Object.keys(collector.connectors ?? {});
    for (const [name, p] of Object.entries(pipelines)) {
      for (const r of p.receivers) expect(r in (collector.receivers ?? {}) || connectors.includes(r), `${name} receiver ${r}`).toBe(true);
      for (const x of p.processors ?? []) expect(collector.processors, `${name} processor ${x}`).toHaveProperty([x]);
      for (const e of p.exporters) expect(e in (collector.exporters ?? {}) || connectors.includes(e), `${name} exporter ${e}`).toBe(true);
    }
    // a connector must both receive (as an exporter) and emit (as a receiver), or it is dead
    for (const c of connectors) {
      expect(Object.values(pipelines).some((p) => p.exporters.includes(c)), `${c} fed`).toBe(true);
      expect(Object.values(pipelines).some((p) => p.receivers.includes(c)), `${c} drained`).toBe(true);
    }
    // defined but unused components are configuration drift
    const used = new Set(Object.values(pipelines).flatMap((p) => [...p.receivers, ...(p.processors ?? []), ...p.exporters]));
    for (const section of ['receivers', 'processors', 'exporters'] as const) {
      for (const c of Object.keys(collector[section] ?? {})) expect(used.has(c), `${section}.${c} used`).toBe(true);
    }
    expect(portOf(collector.receivers.otlp.protocols.grpc.endpoint)).toBe(4317);
    expect(portOf(collector.receivers.otlp.protocols.http.endpoint)).toBe(4318);
  });

  it('collector: tail sampling keeps errors and slow traces plus a probabilistic share, and only sampled traces reach Tempo', () => {
    const policies = collector.processors.tail_sampling.policies as Obj[];
    const byType = (t: string) => policies.filter((p) => p.type === t);
    expect(byType('status_code')[0]?.status_code.status_codes).toContain('ERROR');
    expect(byType('latency')[0]?.latency.threshold_ms).toBeGreaterThan(0);
    const share = byType('probabilistic')[0]?.probabilistic.sampling_percentage;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(100);

    const pipelines = Object.values(collector.service.pipelines) as Obj[];
    const toTempo = pipelines.filter((p) => p.exporters.some((e: string) => String(collector.exporters[e]?.endpoint ?? '').startsWith('tempo:')));
    expect(toTempo).toHaveLength(1);
    expect(toTempo[0]!.processors).toContain('tail_sampling');
    // span metrics see every span, before sampling
    const metricsFeed = pipelines.find((p) => p.exporters.includes('spanmetrics'));
    expect(metricsFeed?.processors ?? []).not.toContain('tail_sampling');
    expect(metricsFeed?.receivers).toContain('otlp');
  });

  const tempo = load('tempo.yaml');
  const prometheus = load('prometheus.yaml');
  const datasources = load('grafana/provisioning/datasources/datasources.yaml').datasources as Obj[];

  it('tempo receives OTLP on the port the collector exports to, and Grafana queries it on its HTTP port', () => {
    expect(tempo.distributor.receivers.otlp.protocols.grpc).toBeDefined();
    const tempoExporter = Object.values(collector.exporters as Obj).find((e) => String(e.endpoint ?? '').startsWith('tempo:'));
    expect(portOf(tempoExporter!.endpoint)).toBe(portOf(tempo.distributor.receivers.otlp.protocols.grpc.endpoint));
    const tempoDs = datasources.find((d) => d.type === 'tempo')!;
    expect(portOf(tempoDs.url)).toBe(tempo.server.http_listen_port);
  });

  it('prometheus scrapes the collector metrics endpoint, the monitor and the apps', () => {
    const targets = (prometheus.scrape_configs as Obj[]).flatMap((s) => (s.static_configs as Obj[]).flatMap((c) => c.targets as string[]));
    expect(targets).toContain(`otel-collector:${portOf(collector.exporters.prometheus.endpoint)}`);
    expect(targets.some((t) => t.startsWith('monitor:'))).toBe(true);
    for (const app of ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer']) expect(targets.some((t) => t.startsWith(`${app}:`)), app).toBe(true);
    const promDs = datasources.find((d) => d.type === 'prometheus')!;
    expect(promDs.url).toMatch(/^http:\/\/prometheus:9090/);
  });

  const dashboard = load('grafana/dashboards/ragline.json');

  it('grafana: fixed unique uids, and every uid the dashboard and data sources refer to exists', () => {
    const uids = datasources.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids).toEqual(expect.arrayContaining(['tempo', 'prometheus']));
    const referenced = collect(dashboard, 'datasource').map((d) => (d as Obj).uid as string);
    expect(referenced.length).toBeGreaterThan(5);
    for (const uid of referenced) expect(uids, `dashboard refers to ${uid}`).toContain(uid);
    for (const uid of [...collect(datasources, 'datasourceUid')]) expect(uids).toContain(uid);
    expect(dashboard.uid).toBe('ragline');
    expect(dashboard.title).toBe('Ragline');
  });

  it('grafana: the slow-tasks panel is a TraceQL table on Tempo filtering on trace duration', () => {
    const slow = (dashboard.panels as Obj[]).find((p) => /slow tasks/i.test(p.title))!;
    expect(slow).toBeDefined();
    expect(slow.type).toBe('table');
    expect(slow.datasource.uid).toBe('tempo');
    const q = slow.targets[0];
    expect(q.queryType).toBe('traceql');
    expect(q.query).toMatch(/resource\.service\.name = "ragline-bridge"/);
    expect(q.query).toMatch(/trace:duration > \$slow/);
    // $slow is a dashboard variable, so Grafana can substitute it
    expect((dashboard.templating.list as Obj[]).map((v) => v.name)).toContain('slow');
  });

  it('grafana: every metric the dashboard queries is produced (monitor metrics or collector span metrics)', () => {
    const monitorMetrics = readFileSync(join(ROOT, 'packages', 'pipeline', 'src', 'monitor', 'metrics.ts'), 'utf8');
    const exprs = collect(dashboard, 'expr') as string[];
    const names = new Set(exprs.flatMap((e) => e.match(/\b(ragline|traces)_[a-z_]+/g) ?? []));
    expect(names.size).toBeGreaterThan(5);
    for (const name of names) {
      if (name.startsWith('traces_span_metrics_')) {
        expect(collector.connectors.spanmetrics.namespace).toBe('traces.span.metrics');
        if (name.includes('duration')) expect(collector.connectors.spanmetrics.histogram.unit).toBe('ms');
        continue;
      }
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(monitorMetrics, `metric ${base}`).toContain(`'${base}'`);
    }
    const stagePanels = (dashboard.panels as Obj[]).filter((p) => p.type === 'timeseries').map((p) => p.title as string);
    expect(stagePanels.join('\n')).toMatch(/per second, by stage/);
    expect(stagePanels.join('\n')).toMatch(/latency.*by stage/i);
    expect(stagePanels.join('\n')).toMatch(/lag/i);
  });

  it('compose mounts each config where its service and the dashboard provider read it', () => {
    const compose = load('compose.yaml');
    const provider = load('grafana/provisioning/dashboards/dashboards.yaml').providers[0];
    const grafanaMounts = compose.services.grafana.volumes as string[];
    expect(grafanaMounts).toContain(`./grafana/dashboards:${provider.options.path}:ro`);
    expect(grafanaMounts).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const mountOf = (svc: string, file: string) => (compose.services[svc].volumes as string[]).find((v) => v.startsWith(`./${file}:`))!.split(':')[1]!;
    expect(compose.services['otel-collector'].command.join(' ')).toContain(mountOf('otel-collector', 'otel-collector.yaml'));
    expect(compose.services.tempo.command.join(' ')).toContain(mountOf('tempo', 'tempo.yaml'));
    expect(compose.services.prometheus.command.join(' ')).toContain(mountOf('prometheus', 'prometheus.yaml'));
  });
});
