/**
 * Services a fault test can break: private nats-server and redis-server processes (stopped and
 * restarted on the same port and data dir), a TCP proxy in front of the shared MariaDB that can cut
 * and refuse connections, an S3 server (s3rver) that can be stopped and restarted, a fault-injecting
 * embedding server, and an Elasticsearch test fixture with a 429-injecting proxy.
 *
 * The machine's shared NATS, Redis and MariaDB are never stopped: other suites use them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import S3rver from 's3rver';
import type { Environment } from '../../support/pipeline.js';
import { assertInvariants, waitAllTasksEnded, waitSomeTasksEnded, type InvariantOptions, type Report } from './invariants.js';
import { enqueueLoad, enqueuePlan, type LoadDoc, type LoadPlan } from './load.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = connect(port, '127.0.0.1', () => {
      c.end();
      r(true);
    });
    c.on('error', () => r(false));
  });
}

async function waitListening(port: number, what: string, alive: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive()) throw new Error(`${what} exited before listening on ${port}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

/** A server process that can be stopped (any signal) and started again with the same arguments. */
export interface RestartableServer {
  readonly port: number;
  /** its own data dir, kept across restarts */
  readonly dir: string;
  readonly running: boolean;
  /** how many times it was started (1 after the first start) */
  readonly starts: number;
  /** SIGTERM: a clean shutdown; SIGKILL: a crash */
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  /** stop, stay down for `downMs`, start again */
  restart(downMs: number, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

function restartable(what: string, port: number, dir: string, command: string, args: string[]): RestartableServer {
  let proc: ChildProcess | undefined;
  let starts = 0;
  const running = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  const server: RestartableServer = {
    port,
    dir,
    get running() {
      return running();
    },
    get starts() {
      return starts;
    },
    async start() {
      if (running()) return;
      proc = spawn(command, args, { stdio: 'ignore' });
      starts++;
      const p = proc;
      await waitListening(port, what, () => p.exitCode === null && p.signalCode === null);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!proc || !running()) return;
      const p = proc;
      p.kill(signal);
      const done = await Promise.race([exited(p).then(() => true), sleep(15_000).then(() => false)]);
      if (!done) {
        p.kill('SIGKILL');
        await exited(p);
      }
    },
    async restart(downMs, signal) {
      await server.stop(signal);
      await sleep(downMs);
      await server.start();
    },
    async close() {
      await server.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A private nats-server with JetStream, its store dir kept across restarts so streams, consumers and KV survive. */
export async function startNatsServer(): Promise<RestartableServer & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-fault-nats-'));
  const port = await freePort();
  const s = restartable('nats-server', port, dir, '/usr/sbin/nats-server', [
    '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-l', join(dir, 'nats.log'),
  ]);
  await s.start();
  return Object.assign(s, { url: `nats://127.0.0.1:${port}` });
}

/**
 * A private redis-server. With `persistence: 'aof'` (the default) it runs like a production Redis
 * that keeps RAGFlow's queue: append-only file, fsync every second; a restart replays the AOF, so
 * stream entries, consumer groups and pending lists survive. Redis writes the AOF before it replies,
 * so even a SIGKILL loses nothing a client saw acknowledged (only a machine crash could lose the last second).
 */
export async function startRedisServer(opts: { persistence?: 'aof' | 'none' } = {}): Promise<RestartableServer & { url: (db?: number) => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-fault-redis-'));
  const port = await freePort();
  const persistence = (opts.persistence ?? 'aof') === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const s = restartable('redis-server', port, dir, 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--logfile', join(dir, 'redis.log'),
  ]);
  await s.start();
  return Object.assign(s, { url: (db = 1) => `redis://127.0.0.1:${port}/${db}` });
}

/**
 * A TCP proxy in front of a real server (the shared MariaDB). `down()` makes the server unavailable
 * the way a crashed database host is: existing connections are cut and new ones refused
 * (ECONNREFUSED) until `up()`.
 */
export interface TcpProxy {
  readonly port: number;
  readonly available: boolean;
  readonly stats: { connections: number; cut: number };
  down(): Promise<void>;
  up(): Promise<void>;
  /** down for `ms`, then up */
  outage(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const pairs = new Set<[Socket, Socket]>();
  const stats = { connections: 0, cut: 0 };
  let available = false;
  let server: TcpServer | undefined;

  function onClient(client: Socket): void {
    stats.connections++;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async function listen(): Promise<void> {
    server = createTcpServer(onClient);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
    available = true;
  }

  async function down(): Promise<void> {
    if (!available) return;
    available = false;
    const s = server!;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const [a, b] of pairs) {
      stats.cut++;
      // a reset, not a FIN: the client sees the connection die mid-query
      a.resetAndDestroy();
      b.destroy();
    }
    pairs.clear();
    await closed;
  }

  await listen();
  return {
    port,
    get available() {
      return available;
    },
    stats,
    down,
    up: async () => {
      if (!available) await listen();
    },
    async outage(ms) {
      await down();
      await sleep(ms);
      await listen();
    },
    async close() {
      await down();
    },
  };
}

/** s3rver's fixed credentials (it checks request signatures against them). */
export const S3RVER_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };

/**
 * An S3-protocol server (s3rver) on a fixed port and folder: `stop()` drops every connection and
 * stops listening; `start()` serves the same objects again on the same port.
 */
export interface S3Server {
  readonly port: number;
  readonly dir: string;
  readonly running: boolean;
  /** the apps' object-store settings (packages/config S3_*) */
  readonly env: { S3_ENDPOINT: string; S3_ACCESS_KEY: string; S3_SECRET_KEY: string };
  stop(): Promise<void>;
  start(): Promise<void>;
  outage(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-fault-s3-'));
  const port = await freePort();
  let server: S3rver | undefined;
  const start = async () => {
    if (server) return;
    const s = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir });
    await s.run();
    server = s;
  };
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = undefined;
    s.httpServer?.closeAllConnections();
    await s.close();
  };
  await start();
  return {
    port,
    dir,
    get running() {
      return server !== undefined;
    },
    env: { S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_ACCESS_KEY: S3RVER_CREDENTIALS.accessKey, S3_SECRET_KEY: S3RVER_CREDENTIALS.secretKey },
    stop,
    start,
    async outage(ms) {
      await stop();
      await sleep(ms);
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function listenHttp(server: HttpServer, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as { port: number }).port;
}

function closeHttp(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

/** What the embedding server does with each request until told otherwise. */
export type EmbeddingFault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'rate-limit'; retryAfterS: number }
  /** accept the request and never answer: the client's timeout must fire */
  | { kind: 'hang' };

export interface EmbeddingServerStats {
  requests: number;
  /** every request: when it came and how it was answered ('hang': never) */
  log: { at: number; status: number | 'hang' }[];
  ok: number;
  /** answers by HTTP status, including 200 */
  byStatus: Record<number, number>;
  hung: number;
  texts: number;
}

export interface FaultyEmbeddingServer {
  /** base URL for EMBEDDING_URL (OpenAI-compatible /v1/embeddings, TEI /embed) */
  readonly url: string;
  readonly dim: number;
  readonly stats: EmbeddingServerStats;
  readonly fault: EmbeddingFault;
  setFault(f: EmbeddingFault): void;
  /** the apps' embedding settings for this server */
  env(kind?: 'openai' | 'tei'): Record<string, string>;
  close(): Promise<void>;
}

/** Deterministic unit vector per text (a hash-seeded xorshift stream), so redeliveries write identical rows. */
export function fixtureVector(text: string, dim: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  let x = h || 1;
  const v = new Array<number>(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    v[i] = x / 4294967295 - 0.5;
    sum += v[i]! * v[i]!;
  }
  const norm = Math.sqrt(sum) || 1;
  return v.map((n) => n / norm);
}

/**
 * An embedding server (OpenAI-compatible `POST /v1/embeddings` and TEI `POST /embed`) whose answers
 * can be switched at run time between normal, an HTTP error status, 429 with Retry-After, and
 * requests that hang.
 */
export async function startFaultyEmbeddingServer(opts: { dim?: number; model?: string } = {}): Promise<FaultyEmbeddingServer> {
  const dim = opts.dim ?? 1024;
  const model = opts.model ?? 'fault-fixture';
  const stats: EmbeddingServerStats = { requests: 0, log: [], ok: 0, byStatus: {}, hung: 0, texts: 0 };
  let fault: EmbeddingFault = { kind: 'ok' };
  const count = (status: number) => {
    stats.log.push({ at: Date.now(), status });
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };

  const server = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    stats.requests++;
    const path = (req.url ?? '').split('?')[0]!;
    const tei = path.endsWith('/embed');
    if (req.method !== 'POST' || !(tei || path.endsWith('/embeddings'))) {
      count(404);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${req.method} ${path}` }));
      return;
    }
    const f = fault;
    if (f.kind === 'hang') {
      // keep the socket open without answering; the client gives up (or close() ends it)
      stats.hung++;
      stats.log.push({ at: Date.now(), status: 'hang' });
      return;
    }
    if (f.kind === 'status') {
      count(f.status);
      res.writeHead(f.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `injected ${f.status}`, type: 'server_error' } }));
      return;
    }
    if (f.kind === 'rate-limit') {
      count(429);
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(f.retryAfterS) })
        .end(JSON.stringify(tei ? { error: 'Model is overloaded', error_type: 'Overloaded' } : { error: { message: 'Rate limit reached', type: 'rate_limit_error' } }));
      return;
    }
    let json: { input?: unknown; inputs?: unknown };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      count(400);
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'body is not JSON' }));
      return;
    }
    const raw = tei ? json.inputs : json.input;
    const texts = (Array.isArray(raw) ? raw : [raw]).map(String);
    stats.texts += texts.length;
    stats.ok++;
    count(200);
    const vectors = texts.map((t) => fixtureVector(t, dim));
    const tokens = texts.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
    const out = tei
      ? vectors
      : { object: 'list', model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: tokens, total_tokens: tokens } };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  });
  const port = await listenHttp(server);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dim,
    stats,
    get fault() {
      return fault;
    },
    setFault(f) {
      fault = f;
    },
    env: (kind = 'openai') => ({ EMBEDDING_URL: kind === 'openai' ? `${url}/v1` : url, EMBEDDING_KIND: kind, EMBEDDING_MODEL: model, EMBEDDING_DIM: String(dim) }),
    close: () => closeHttp(server),
  };
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch: an in-memory test fixture, and a proxy that injects 429s in front of any cluster

/** What the fixture answers when asked for something it does not implement. */
function unsupported(res: ServerResponse, what: string): void {
  esJson(res, 400, { error: { type: 'illegal_argument_exception', reason: `ES test fixture does not implement ${what}` }, status: 400 });
}

function esJson(res: ServerResponse, status: number, body: unknown): void {
  // the official client refuses answers without this header (its product check)
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' }).end(JSON.stringify(body));
}

function indexMissing(res: ServerResponse, index: string): void {
  esJson(res, 404, {
    error: { type: 'index_not_found_exception', reason: `no such index [${index}]`, index },
    status: 404,
  });
}

interface FixtureIndex {
  mappings: { properties: Record<string, unknown> };
  /** realtime view (get/mget): id -> source JSON text */
  docs: Map<string, string>;
  /** what search and count see: the docs as of the last refresh, as in Elasticsearch */
  searchable: Map<string, string>;
}

type Query = Record<string, unknown>;

/** The filters the adapter sends (term on a keyword field, ids, bool filter/must of those); anything else is refused. */
function matcher(query: Query | undefined): (id: string, src: Record<string, unknown>) => boolean {
  if (!query || Object.keys(query).length === 0 || 'match_all' in query) return () => true;
  if ('bool' in query) {
    const b = query.bool as { filter?: Query | Query[]; must?: Query | Query[]; must_not?: Query | Query[] };
    const list = (q: Query | Query[] | undefined) => (q === undefined ? [] : Array.isArray(q) ? q : [q]);
    const all = [...list(b.filter), ...list(b.must)].map(matcher);
    const none = list(b.must_not).map(matcher);
    const extra = Object.keys(b).filter((k) => !['filter', 'must', 'must_not', 'boost'].includes(k));
    if (extra.length) throw new Error(`bool.${extra[0]}`);
    return (id, src) => all.every((m) => m(id, src)) && !none.some((m) => m(id, src));
  }
  if ('term' in query) {
    const [[field, spec]] = Object.entries(query.term as Record<string, unknown>) as [[string, unknown]];
    const value = spec && typeof spec === 'object' ? (spec as { value: unknown }).value : spec;
    return (_id, src) => {
      const v = src[field];
      return Array.isArray(v) ? v.includes(value) : v === value;
    };
  }
  if ('terms' in query) {
    const [[field, values]] = Object.entries(query.terms as Record<string, unknown[]>) as [[string, unknown[]]];
    return (_id, src) => values.includes(src[field]);
  }
  if ('ids' in query) {
    const ids = new Set((query.ids as { values: string[] }).values);
    return (id) => ids.has(id);
  }
  if ('range' in query) {
    // must_not range available_int < 1: documents without the field are kept, as in ES
    const [[field, r]] = Object.entries(query.range as Record<string, { lt?: number; gte?: number }>) as [[string, { lt?: number; gte?: number }]];
    return (_id, src) => {
      const v = src[field];
      if (typeof v !== 'number') return false;
      return (r.lt === undefined || v < r.lt) && (r.gte === undefined || v >= r.gte);
    };
  }
  throw new Error(`query ${Object.keys(query)[0]}`);
}

export interface EsFixtureStats {
  bulkRequests: number;
  indexOps: number;
  refreshes: number;
}

export interface EsFixture {
  readonly url: string;
  readonly stats: EsFixtureStats;
  /** ids stored in an index (realtime) */
  ids(index: string): string[];
  close(): Promise<void>;
}

/**
 * A TEST FIXTURE, not an Elasticsearch: an in-memory HTTP server speaking just the part of the
 * Elasticsearch REST API that packages/docstore's adapter uses to index (create index, put mapping,
 * bulk index/delete, refresh, count, mget, delete by query with term/ids filters). Writes are
 * visible to mget at once and to count only after a refresh, as in Elasticsearch. Every other
 * request gets a 400 naming what is missing, so a test cannot silently depend on more.
 */
export async function startEsFixture(): Promise<EsFixture> {
  const indices = new Map<string, FixtureIndex>();
  const stats: EsFixtureStats = { bulkRequests: 0, indexOps: 0, refreshes: 0 };

  function bulk(lines: string[], defaultIndex: string | undefined, refresh: boolean): unknown {
    const items: unknown[] = [];
    const touched = new Set<FixtureIndex>();
    for (let i = 0; i < lines.length; i++) {
      const action = JSON.parse(lines[i]!) as Record<string, { _index?: string; _id?: string }>;
      const [op, meta] = Object.entries(action)[0]!;
      const index = meta._index ?? defaultIndex;
      const id = meta._id;
      if (op === 'index' || op === 'create') {
        const source = lines[++i]!;
        const idx = index ? indices.get(index) : undefined;
        if (!index || !id || !idx) {
          items.push({ [op]: { _index: index, _id: id, status: 404, error: { type: 'index_not_found_exception', reason: `no such index [${index}]` } } });
          continue;
        }
        const exists = idx.docs.has(id);
        if (op === 'create' && exists) {
          items.push({ create: { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } } });
          continue;
        }
        JSON.parse(source); // a malformed source is an error, as in ES
        idx.docs.set(id, source);
        touched.add(idx);
        stats.indexOps++;
        items.push({ [op]: { _index: index, _id: id, result: exists ? 'updated' : 'created', status: exists ? 200 : 201 } });
      } else if (op === 'delete') {
        const idx = index ? indices.get(index) : undefined;
        const found = Boolean(id && idx?.docs.delete(id));
        if (idx) touched.add(idx);
        items.push({ delete: { _index: index, _id: id, result: found ? 'deleted' : 'not_found', status: found ? 200 : 404 } });
      } else {
        throw new Error(`bulk action ${op}`);
      }
    }
    if (refresh) for (const idx of touched) idx.searchable = new Map(idx.docs);
    return { took: 1, errors: items.some((it) => Object.values(it as Record<string, { status: number }>)[0]!.status >= 300), items };
  }

  const server = createHttpServer(async (req, res) => {
    const raw = (await readBody(req)).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fixture');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const body = () => (raw.trim() ? (JSON.parse(raw) as Record<string, unknown>) : {});
    try {
      if (parts.length === 0) {
        return esJson(res, 200, { name: 'ragline-es-fixture', cluster_name: 'fixture', version: { number: '8.11.0', build_flavor: 'default' }, tagline: 'You Know, for Search' });
      }
      if (parts[0] === '_bulk' || parts[1] === '_bulk') {
        if (method !== 'POST' && method !== 'PUT') return unsupported(res, `${method} _bulk`);
        stats.bulkRequests++;
        const lines = raw.split('\n').filter((l) => l.trim());
        const refresh = ['true', 'wait_for', ''].includes(url.searchParams.get('refresh') ?? 'false');
        return esJson(res, 200, bulk(lines, parts[1] === '_bulk' ? parts[0] : undefined, refresh));
      }
      if (parts[0] === '_refresh') {
        stats.refreshes++;
        for (const idx of indices.values()) idx.searchable = new Map(idx.docs);
        return esJson(res, 200, { _shards: { total: 1, successful: 1, failed: 0 } });
      }
      const name = parts[0]!;
      const idx = indices.get(name);
      const op = parts[1];
      if (op === undefined) {
        if (method === 'PUT') {
          if (idx) {
            return esJson(res, 400, { error: { type: 'resource_already_exists_exception', reason: `index [${name}] already exists`, index: name }, status: 400 });
          }
          const b = body() as { mappings?: { properties?: Record<string, unknown> } };
          indices.set(name, { mappings: { properties: { ...(b.mappings?.properties ?? {}) } }, docs: new Map(), searchable: new Map() });
          return esJson(res, 200, { acknowledged: true, shards_acknowledged: true, index: name });
        }
        if (method === 'HEAD') {
          res.writeHead(idx ? 200 : 404, { 'x-elastic-product': 'Elasticsearch' }).end();
          return;
        }
        if (method === 'DELETE') {
          if (!idx) return indexMissing(res, name);
          indices.delete(name);
          return esJson(res, 200, { acknowledged: true });
        }
        return unsupported(res, `${method} /${name}`);
      }
      if (!idx) return indexMissing(res, name);
      if (op === '_mapping' && (method === 'PUT' || method === 'POST')) {
        Object.assign(idx.mappings.properties, (body() as { properties?: Record<string, unknown> }).properties ?? {});
        return esJson(res, 200, { acknowledged: true });
      }
      if (op === '_refresh') {
        stats.refreshes++;
        idx.searchable = new Map(idx.docs);
        return esJson(res, 200, { _shards: { total: 1, successful: 1, failed: 0 } });
      }
      if (op === '_count') {
        const match = matcher(body().query as Query | undefined);
        let count = 0;
        for (const [id, src] of idx.searchable) if (match(id, JSON.parse(src) as Record<string, unknown>)) count++;
        return esJson(res, 200, { count, _shards: { total: 1, successful: 1, failed: 0 } });
      }
      if (op === '_mget') {
        const ids = (body() as { ids?: string[] }).ids ?? [];
        const docs = ids.map((id) => {
          const src = idx.docs.get(id);
          return src === undefined ? { _index: name, _id: id, found: false } : { _index: name, _id: id, found: true, _source: JSON.parse(src) as unknown };
        });
        return esJson(res, 200, { docs });
      }
      if (op === '_delete_by_query' && method === 'POST') {
        const match = matcher(body().query as Query | undefined);
        let deleted = 0;
        // delete by query acts on what search sees, then refresh=true makes it visible
        for (const [id, src] of idx.searchable) {
          if (match(id, JSON.parse(src) as Record<string, unknown>)) {
            idx.docs.delete(id);
            deleted++;
          }
        }
        if (url.searchParams.get('refresh') === 'true') idx.searchable = new Map(idx.docs);
        return esJson(res, 200, { took: 1, deleted, total: deleted, failures: [] });
      }
      return unsupported(res, `${method} /${name}/${op}`);
    } catch (e) {
      return unsupported(res, `${method} ${url.pathname}: ${(e as Error).message}`);
    }
  });
  const port = await listenHttp(server);
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    ids: (index) => [...(indices.get(index)?.docs.keys() ?? [])],
    close: () => closeHttp(server),
  };
}

export interface EsRejections {
  /** share of bulk requests answered 429 as a whole (nothing forwarded) */
  bulkRequests: number;
  /** share of the items of a forwarded bulk answered 429 inside a 200 bulk response (not forwarded) */
  bulkItems: number;
}

export interface Es429ProxyStats {
  bulkRequests: number;
  rejectedRequests: number;
  items: number;
  rejectedItems: number;
  forwarded: number;
}

export interface Es429Proxy {
  readonly url: string;
  readonly stats: Es429ProxyStats;
  /** start (or change) rejecting; `{ bulkRequests: 0, bulkItems: 0 }` stops */
  reject(r: EsRejections): void;
  close(): Promise<void>;
}

/** A small seeded PRNG (mulberry32), so a run's rejections are reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REJECTED = { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation (injected by the 429 proxy)' };

/**
 * An HTTP proxy in front of an Elasticsearch endpoint (a real cluster or the fixture) that answers
 * bulk requests the way an overloaded cluster does: a whole-request 429, or a 200 whose `items`
 * mark some documents 429 (those are not forwarded, so they are really not written). Everything else
 * passes through unchanged.
 */
export async function startEs429Proxy(upstreamUrl: string, opts: { seed?: number } = {}): Promise<Es429Proxy> {
  const upstream = new URL(upstreamUrl);
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const random = prng(opts.seed ?? 1);
  const stats: Es429ProxyStats = { bulkRequests: 0, rejectedRequests: 0, items: 0, rejectedItems: 0, forwarded: 0 };
  let rejections: EsRejections = { bulkRequests: 0, bulkItems: 0 };

  function forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    stats.forwarded++;
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    return new Promise((resolve, reject) => {
      const r = send(
        { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: `${upstream.pathname.replace(/\/$/, '')}${req.url}`, headers },
        async (up) => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: await readBody(up) }),
      );
      r.on('error', reject);
      r.end(body);
    });
  }

  function reply(res: ServerResponse, r: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }): void {
    const headers = { ...r.headers };
    delete headers['transfer-encoding'];
    delete headers['content-length'];
    delete headers.connection;
    res.writeHead(r.status, headers).end(r.body);
  }

  async function bulk(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    stats.bulkRequests++;
    if (random() < rejections.bulkRequests) {
      stats.rejectedRequests++;
      return esJson(res, 429, { error: { root_cause: [REJECTED], ...REJECTED }, status: 429 });
    }
    // split the ndjson into operations (action line, plus a source line except for delete)
    const lines = body.toString('utf8').split('\n').filter((l) => l.trim());
    const ops: { lines: string[]; op: string; meta: { _index?: string; _id?: string } }[] = [];
    for (let i = 0; i < lines.length; i++) {
      const [op, meta] = Object.entries(JSON.parse(lines[i]!) as Record<string, { _index?: string; _id?: string }>)[0]!;
      ops.push({ op, meta, lines: op === 'delete' ? [lines[i]!] : [lines[i]!, lines[++i]!] });
    }
    stats.items += ops.length;
    const rejected = ops.map(() => random() < rejections.bulkItems);
    const kept = ops.filter((_, i) => !rejected[i]);
    stats.rejectedItems += ops.length - kept.length;
    let upstreamItems: unknown[] = [];
    let took = 0;
    if (kept.length) {
      const r = await forward(req, Buffer.from(kept.flatMap((o) => o.lines).join('\n') + '\n'));
      if (r.status !== 200) return reply(res, r);
      const parsed = JSON.parse(r.body.toString('utf8')) as { items: unknown[]; took?: number };
      upstreamItems = parsed.items;
      took = parsed.took ?? 0;
    }
    let next = 0;
    const items = ops.map((o, i) =>
      rejected[i] ? { [o.op]: { _index: o.meta._index, _id: o.meta._id, status: 429, error: REJECTED } } : upstreamItems[next++],
    );
    const errors = items.some((it) => (Object.values(it as Record<string, { status: number }>)[0]?.status ?? 500) >= 300);
    esJson(res, 200, { took, errors, items });
  }

  const server = createHttpServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0]!;
      if (req.method === 'POST' && /(^|\/)_bulk$/.test(path)) return await bulk(req, res, body);
      reply(res, await forward(req, body));
    } catch (e) {
      esJson(res, 502, { error: { type: 'proxy_error', reason: (e as Error).message }, status: 502 });
    }
  });
  const port = await listenHttp(server);
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    reject(r) {
      rejections = r;
    },
    close: () => closeHttp(server),
  };
}

// ---------------------------------------------------------------------------------------------
// One load with a fault in the middle (built on the shared harness in load.ts / invariants.ts)

export interface FaultRun {
  plan: LoadPlan;
  report: Report;
  /** durations and what the fault returned, for the suite's summary */
  timing: Record<string, unknown>;
}

/**
 * Runs one load of `corpus` with `fault` injected once `middle` of its tasks ended, waits for every
 * task to end and checks the invariants. Most of the load is enqueued first; the rest while the fault
 * is on (`lateDuringFault`, so the bridge meets the outage with new work too), or right after it
 * (when the fault takes Redis, where RAGFlow's API server could not enqueue either), or whenever the
 * fault itself calls `enqueueRest`.
 */
export async function loadUnderFault(
  env: Environment,
  corpus: readonly LoadDoc[],
  opts: {
    name: string;
    fault: (ctx: { enqueueRest(): Promise<void> }) => Promise<Record<string, unknown> | void>;
    lateDuringFault: boolean;
    /** share of the tasks ended before the fault; default 0.2 */
    middle?: number;
    invariants?: InvariantOptions;
    timeoutMs?: number;
  },
): Promise<FaultRun> {
  const t0 = Date.now();
  const plan = await enqueueLoad(env, corpus, { enqueue: false });
  const cut = Math.floor(plan.docs.length * 0.7);
  const part = (docs: LoadPlan['docs']): LoadPlan => ({ docs, taskIds: docs.flatMap((d) => d.tasks.map((t) => t.id)) });
  let rest: Promise<void> | undefined;
  const enqueueRest = () => (rest ??= enqueuePlan(env, part(plan.docs.slice(cut))));
  await enqueuePlan(env, part(plan.docs.slice(0, cut)));
  const mid = await waitSomeTasksEnded(env, plan, opts.middle ?? 0.2);
  if (mid.ended >= mid.total) throw new Error(`${opts.name}: the load ended before the fault could hit it`);
  const t2 = Date.now();
  const injected = opts.fault({ enqueueRest });
  if (opts.lateDuringFault) {
    await sleep(1000);
    await enqueueRest();
  }
  const details = await injected;
  await enqueueRest();
  const t3 = Date.now();
  await waitAllTasksEnded(env, plan, opts.timeoutMs ?? 240_000);
  const t4 = Date.now();
  const report = await assertInvariants(env, plan, opts.invariants);
  const timing = {
    fault: opts.name,
    tasks: report.tasks,
    done: report.done,
    failed: report.failed,
    chunks: report.chunks,
    endedAtInjection: mid.ended,
    beforeFaultMs: t2 - t0,
    faultMs: t3 - t2,
    afterFaultMs: t4 - t3,
    invariantsMs: Date.now() - t4,
    totalMs: Date.now() - t0,
    transient: report.transient.slice(0, 3),
    ...details,
  };
  return { plan, report, timing };
}
