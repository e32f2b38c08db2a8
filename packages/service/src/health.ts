import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type ReadinessCheck = () => Promise<void> | void;

export interface HealthServerOptions {
  /** name -> check; /readyz is 200 only when every check resolves */
  checks: Record<string, ReadinessCheck>;
  registry?: Registry;
  /** per-check time limit; default 2 s */
  checkTimeoutMs?: number;
}

async function runChecks(checks: Record<string, ReadinessCheck>, timeoutMs: number) {
  const results: Record<string, string> = {};
  let ok = true;
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([
          Promise.resolve().then(check),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
        ]);
        results[name] = 'ok';
      } catch (e) {
        ok = false;
        results[name] = (e as Error).message;
      }
    }),
  );
  return { ok, results };
}

/** Request handler for /healthz (process alive), /readyz (dependencies answer) and /metrics. */
export function healthHandler(opts: HealthServerOptions) {
  const timeout = opts.checkTimeoutMs ?? 2000;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return true;
    }
    if (path === '/readyz') {
      const { ok, results } = await runChecks(opts.checks, timeout);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready', checks: results }));
      return true;
    }
    if (path === '/metrics' && opts.registry) {
      res.writeHead(200, { 'content-type': opts.registry.contentType }).end(await opts.registry.metrics());
      return true;
    }
    return false;
  };
}

/** A tiny HTTP server with only the health endpoints (stage apps); the monitor mounts healthHandler in its own server. */
export function createHealthServer(opts: HealthServerOptions): Server {
  const handle = healthHandler(opts);
  return createHttpServer((req, res) => {
    handle(req, res)
      .then((handled) => {
        if (!handled) res.writeHead(404).end();
      })
      .catch(() => res.writeHead(500).end());
  });
}

export function createMetricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}
