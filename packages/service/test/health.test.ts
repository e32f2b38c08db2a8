import type { Server } from 'node:http';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthServer, createMetricsRegistry, listen, type HealthServerOptions } from '../src/index.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(opts: HealthServerOptions): Promise<string> {
  const server = createHealthServer(opts);
  servers.push(server);
  const port = await listen(server, 0, '127.0.0.1');
  expect(port).toBeGreaterThan(0);
  return `http://127.0.0.1:${port}`;
}

describe('createHealthServer', () => {
  it('answers /healthz with 200 whatever the checks say', async () => {
    const base = await serve({ checks: { db: () => Promise.reject(new Error('down')) } });
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 when every check passes', async () => {
    let calls = 0;
    const base = await serve({
      checks: {
        db: async () => {
          calls++;
        },
        redis: () => undefined,
      },
    });
    const res = await fetch(`${base}/readyz?verbose=1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { db: 'ok', redis: 'ok' } });
    // checks run per request, not cached
    await fetch(`${base}/readyz`);
    expect(calls).toBe(2);
  });

  it('answers /readyz with 503 and the failing check message when a check throws (sync or async)', async () => {
    const base = await serve({
      checks: {
        db: async () => undefined,
        redis: async () => {
          throw new Error('ECONNREFUSED 127.0.0.1:6379');
        },
        nats: () => {
          throw new Error('no responders');
        },
      },
    });
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not ready',
      checks: { db: 'ok', redis: 'ECONNREFUSED 127.0.0.1:6379', nats: 'no responders' },
    });
  });

  it('fails a check that exceeds checkTimeoutMs without waiting for it', async () => {
    const base = await serve({
      checkTimeoutMs: 50,
      checks: { slow: () => new Promise<void>((r) => setTimeout(r, 2000).unref()), fast: () => undefined },
    });
    const started = Date.now();
    const res = await fetch(`${base}/readyz`);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', checks: { slow: 'timed out', fast: 'ok' } });
  });

  it('serves Prometheus text from the registry on /metrics, with the default labels', async () => {
    const registry = createMetricsRegistry({ service: 'parser', replica: 'h_0' });
    const processed = new Counter({ name: 'ragline_test_tasks_total', help: 'tasks', registers: [registry] });
    processed.inc(3);
    const base = await serve({ checks: {}, registry });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('# TYPE ragline_test_tasks_total counter');
    expect(body).toMatch(/^ragline_test_tasks_total\{service="parser",replica="h_0"\} 3$/m);
    // collectDefaultMetrics ran on this registry
    expect(body).toMatch(/^process_cpu_user_seconds_total\{service="parser",replica="h_0"\} [0-9.e-]+$/m);
  });

  it('answers 404 for unknown paths, and for /metrics without a registry', async () => {
    const base = await serve({ checks: {} });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});

describe('listen', () => {
  it('rejects when the port is taken', async () => {
    const base = await serve({ checks: {} });
    const port = Number(new URL(base).port);
    const other = createHealthServer({ checks: {} });
    await expect(listen(other, port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
