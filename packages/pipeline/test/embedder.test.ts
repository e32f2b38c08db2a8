import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runConsumer, type RunningConsumer } from '@ragline/bus';
import { ChunkBatch, DeadLetter, EmbeddedBatch, msgIds, unpackVector, type TaskContext } from '@ragline/contracts';
import { hashingVector, mixTitle, type BackendSpec } from '@ragline/embedding';
import { InMemorySpanExporter, SimpleSpanProcessor, startTelemetry } from '@ragline/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedHandler, createEmbeddingRegistry, createKbDimensionGuard, taskRef, VectorDimensionMismatchError, type EmbeddingRegistry } from '../src/index.js';
import { chunksFor, logger, openStageWorld, tracer, type StageWorld } from './support/stage-env.js';

const DIM = 8;
const KEY = 'sk-embedder-SECRET-31337';

/** What the model server returns for a text: deterministic, so a test can recompute every vector. */
const serverVector = (text: string, dim = DIM): Float32Array => hashingVector(text, dim);
const words = (t: string): number => t.split(/\s+/).filter(Boolean).length;

interface ModelServer {
  url: string;
  /** the inputs of every call, in arrival order */
  calls: { inputs: string[]; at: number }[];
  /** 'up' answers, 'down' answers 503 */
  mode: 'up' | 'down';
  /** per call: return a response to send instead of embeddings */
  intercept?: (inputs: string[], n: number) => { status: number; body: unknown; headers?: Record<string, string> } | undefined;
  close(): Promise<void>;
}

/**
 * A real HTTP model server speaking OpenAI's /v1/embeddings (vector size from a `/d<dim>` path
 * prefix, default 8) with usage = whitespace words, after `latencyMs`.
 */
async function startModelServer(latencyMs = 5): Promise<ModelServer> {
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const s: ModelServer = { url: '', calls: [], mode: 'up', close: async () => undefined };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { input: string[] };
      const dim = Number(/^\/d(\d+)\//.exec(req.url ?? '')?.[1] ?? DIM);
      s.calls.push({ inputs: body.input, at: Date.now() });
      const n = s.calls.length;
      setTimeout(() => {
        if (s.mode === 'down') return send(res, 503, { error: { message: 'model server is restarting' } });
        const special = s.intercept?.(body.input, n);
        if (special) return send(res, special.status, special.body, special.headers);
        const data = body.input.map((t, index) => ({ object: 'embedding', index, embedding: Array.from(serverVector(t, dim)) }));
        send(res, 200, { object: 'list', data, usage: { prompt_tokens: 0, total_tokens: body.input.reduce((a, t) => a + words(t), 0) } });
      }, latencyMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

let w: StageWorld;
let model: ModelServer;
const consumers: RunningConsumer[] = [];
beforeEach(async () => {
  w = await openStageWorld();
  model = await startModelServer();
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop(1000)));
  await model?.close();
  await w?.cleanup();
});

const spec = (over: Partial<BackendSpec> = {}): BackendSpec => ({ kind: 'openai', url: model.url, model: 'bge-m3', apiKey: KEY, retryBaseMs: 1, ...over });

function registry(over: Partial<Parameters<typeof createEmbeddingRegistry>[0]> = {}): EmbeddingRegistry {
  return createEmbeddingRegistry({ defaultSpec: spec(), batchSize: 16, maxWaitMs: 20, callConcurrency: 2, logger, ...over });
}

function handler(reg: EmbeddingRegistry, t = tracer, dims = false) {
  return createEmbedHandler({
    backendFor: (task) => reg.forEmbdId(task.embd_id),
    ...(dims && { dims: createKbDimensionGuard(w.redis) }),
    publisher: w.publisher,
    names: w.names,
    isCancelled: w.isCancelled,
    logger,
    tracer: t,
  });
}

/** `n` chunk texts unique to a task and batch, so every text the model sees says where it came from. */
const textsOf = (task: TaskContext, batchNo: number, n = 3): string[] =>
  Array.from({ length: n }, (_, i) => `Task ${task.task_id.slice(0, 6)} batch ${batchNo} chunk ${i} about rivers and hills.`);

function chunkBatch(task: TaskContext, batchNo: number, texts = textsOf(task, batchNo)): ChunkBatch {
  return ChunkBatch.parse({ v: 1, kind: 'chunks', task: taskRef(task), batch_no: batchNo, chunks: chunksFor(task, texts) });
}

const readEmbedded = async () => (await w.read(w.names.streams.index, w.names.consumers.indexer, EmbeddedBatch)).map((r) => r.msg);

function consume(reg: EmbeddingRegistry, opts: { concurrency?: number; onDelivery?: (n: number) => void; canPull?: () => boolean } = {}): RunningConsumer {
  const handle = handler(reg);
  const c = runConsumer({
    nc: w.nc,
    stream: w.names.streams.chunks,
    consumer: w.names.consumers.embedder,
    stage: 'embedder',
    schema: ChunkBatch,
    concurrency: opts.concurrency ?? 4,
    maxDeliver: 5,
    dlqSubject: w.names.subjects.dlq('embedder'),
    logger,
    tracer,
    retryBaseMs: 50,
    pullExpiresMs: 1000,
    canPull: opts.canPull ?? reg.canPull,
    handler: (msg, ctx) => {
      opts.onDelivery?.(ctx.deliveryCount);
      return handle(msg, ctx);
    },
  });
  consumers.push(c);
  return c;
}

async function publishBatches(batches: ChunkBatch[]): Promise<void> {
  for (const b of batches) {
    await w.publisher.publish(w.names.subjects.chunks, ChunkBatch, b, { msgID: msgIds.chunkBatch(b.task, b.batch_no), taskId: b.task.task_id });
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The vector RAGFlow's mixing gives a chunk of `task`: 0.1 * title + 0.9 * content. */
const expectedVector = (task: TaskContext, text: string) => Array.from(mixTitle(serverVector(task.doc_name), serverVector(text), 0.1));

describe('embedder: coalescing across batches and tasks', () => {
  it('merges batches of two tasks handled at once into fewer model calls; each batch gets its own vectors, tokens and a span linked to the call', async () => {
    const exporter = new InMemorySpanExporter();
    const t = startTelemetry({ serviceName: 'embedder-test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] }).tracer;
    // a wait long enough that all four batches join the call even on a loaded machine (14 texts never fill it)
    const reg = registry({ tracer: t, maxWaitMs: 500 });
    const handle = handler(reg, t);
    const a = w.task('alpha.md');
    const b = w.task('beta.md');
    const batches = [chunkBatch(a, 0), chunkBatch(b, 0), chunkBatch(a, 1), chunkBatch(b, 1)];

    await Promise.all(batches.map((m) => handle(m, w.ctx())));

    // 2 titles + 12 chunk texts fit in one call of 16
    expect(model.calls.length).toBeLessThan(batches.length);
    expect(model.calls).toHaveLength(1);
    const sent = model.calls.flatMap((c) => c.inputs);
    expect(sent.filter((x) => x === 'alpha.md' || x === 'beta.md').sort()).toEqual(['alpha.md', 'beta.md']);
    expect(sent).toHaveLength(14);
    expect(reg.entries()[0]!.backend.stats).toMatchObject({ calls: 1, sharedCalls: 1, texts: 14 });

    const out = await readEmbedded();
    expect(out).toHaveLength(4);
    for (const m of batches) {
      const e = out.find((o) => o.task.task_id === m.task.task_id && o.batch_no === m.batch_no)!;
      const task = m.task.task_id === a.task_id ? a : b;
      expect(e.chunks).toEqual(m.chunks);
      expect(e.vectors.dim).toBe(DIM);
      const got = e.vectors.data.map((d) => Array.from(unpackVector(d, DIM)));
      const want = m.chunks.map((c) => expectedVector(task, c.content_with_weight));
      got.forEach((v, i) => v.forEach((x, k) => expect(x).toBeCloseTo(want[i]![k]!, 5)));
    }
    // the call's reported usage is shared out exactly
    expect(out.reduce((n, e) => n + e.tokens, 0)).toBe(sent.reduce((n, x) => n + words(x), 0));

    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'embedding call')!;
    const embeds = spans.filter((s) => s.name === 'embed');
    expect(embeds).toHaveLength(4);
    expect(call.links.map((l) => l.context.spanId).sort()).toEqual(embeds.map((s) => s.spanContext().spanId).sort());
    for (const s of embeds) {
      expect(s.links.map((l) => l.context.spanId)).toEqual([call.spanContext().spanId]);
      // each task keeps its own trace
      expect(s.spanContext().traceId).not.toBe(call.spanContext().traceId);
    }
    // four content requests and two title requests in one call
    expect(call.attributes).toMatchObject({ 'ragline.embedding.texts': 14, 'ragline.embedding.requests': 6 });
  });

  it('splits large batches into calls of EMBEDDING_BATCH_SIZE with bounded concurrency, results in order', async () => {
    const slow = await startModelServer(60);
    const reg = createEmbeddingRegistry({ defaultSpec: spec({ url: slow.url }), batchSize: 4, maxWaitMs: 5, callConcurrency: 2 });
    try {
      const task = w.task('long.md');
      const msg = chunkBatch(task, 0, textsOf(task, 0, 13));
      const inFlight: number[] = [];
      const timer = setInterval(() => inFlight.push(reg.entries()[0]?.backend.stats.inFlight ?? 0), 5);
      await handler(reg)(msg, w.ctx());
      clearInterval(timer);
      expect(slow.calls.map((c) => c.inputs.length).sort()).toEqual([2, 4, 4, 4]);
      expect(Math.max(...inFlight)).toBe(2);
      expect(reg.entries()[0]!.backend.stats.maxInFlight).toBe(2);
      const [e] = await readEmbedded();
      e!.vectors.data.forEach((d, i) =>
        Array.from(unpackVector(d, DIM)).forEach((x, k) => expect(x).toBeCloseTo(expectedVector(task, msg.chunks[i]!.content_with_weight)[k]!, 5)),
      );
    } finally {
      await slow.close();
    }
  });

  it('retries a 429 after its Retry-After and still delivers every batch', async () => {
    model.intercept = (_inputs, n) => (n === 1 ? { status: 429, body: { error: { message: 'rate limited' } }, headers: { 'retry-after': '1' } } : undefined);
    const task = w.task('slow.md');
    await handler(registry())(chunkBatch(task, 0), w.ctx());
    expect(model.calls).toHaveLength(2);
    expect(model.calls[1]!.at - model.calls[0]!.at).toBeGreaterThanOrEqual(900);
    expect(await readEmbedded()).toHaveLength(1);
  });
});

describe('embedder: failures', () => {
  it("fails only the task with the bad input, at once, with the server's message and no API key", async () => {
    model.intercept = (inputs) =>
      inputs.some((x) => x.includes('POISON')) ? { status: 400, body: { error: { message: `input 2 is too long for bge-m3 (key ${KEY})` } } } : undefined;
    const reg = registry({ maxWaitMs: 50 });
    const deliveries: number[] = [];
    consume(reg, { onDelivery: (n) => deliveries.push(n) });
    const bad = w.task('bad.md');
    const good = w.task('good.md');
    await publishBatches([chunkBatch(bad, 0, ['fine text', 'POISON text that is far too long']), chunkBatch(good, 0)]);

    const dead = await until('a dead letter', async () => {
      const d = await w.read(w.names.streams.dlq, w.names.consumers.monitorDlq, DeadLetter);
      return d.length ? d : undefined;
    });
    const out = await until('the good batch', async () => {
      const e = await readEmbedded();
      return e.length ? e : undefined;
    });
    await new Promise((r) => setTimeout(r, 200));
    out.push(...(await readEmbedded()));
    expect(out.map((e) => e.task.task_id)).toEqual([good.task_id]);
    expect(dead).toHaveLength(1);
    const dl = dead[0]!.msg;
    expect(dl).toMatchObject({ stage: 'embedder', task_id: bad.task_id, deliveries: 1, error: { name: 'EmbeddingError', retryable: false } });
    expect(dl.error.message).toContain('HTTP 400: input 2 is too long for bge-m3');
    expect(dl.error.message).not.toContain(KEY);
    expect(deliveries).toEqual([1, 1]);
    // the shared call failed, then each task's texts were sent alone
    expect(reg.entries()[0]!.backend.stats.sharedCalls).toBeGreaterThanOrEqual(1);
  });

  it('splits calls the server refuses as too large (413), and fails only the task whose single input is still too large', async () => {
    // as TEI: the batch size is checked before the inputs are tokenized
    model.intercept = (inputs) => {
      if (inputs.length > 5) return { status: 413, body: { error: `batch size ${inputs.length} > maximum allowed batch size 5`, error_type: 'Validation' } };
      if (inputs.some((x) => x.includes('HUGE'))) return { status: 413, body: { error: '`inputs` must have less than 512 tokens. Given: 900', error_type: 'Validation' } };
      return undefined;
    };
    const reg = registry({ maxWaitMs: 200 });
    consume(reg, { concurrency: 4 });
    const good = w.task('fine.md');
    const bad = w.task('huge.md');
    await publishBatches([chunkBatch(good, 0), chunkBatch(good, 1), chunkBatch(bad, 0, ['small text', 'HUGE text beyond the model limit'])]);

    const dead = await until('a dead letter', async () => {
      const d = await w.read(w.names.streams.dlq, w.names.consumers.monitorDlq, DeadLetter);
      return d.length ? d : undefined;
    });
    const out: EmbeddedBatch[] = [];
    await until('both good batches', async () => {
      out.push(...(await readEmbedded()));
      return out.length >= 2;
    });
    expect(out.map((e) => `${e.task.task_id}/${e.batch_no}`).sort()).toEqual([`${good.task_id}/0`, `${good.task_id}/1`]);
    for (const e of out) {
      const m = chunkBatch(good, e.batch_no);
      e.vectors.data.forEach((d, i) =>
        Array.from(unpackVector(d, DIM)).forEach((x, k) => expect(x).toBeCloseTo(expectedVector(good, m.chunks[i]!.content_with_weight)[k]!, 5)),
      );
    }
    expect(dead).toHaveLength(1);
    expect(dead[0]!.msg).toMatchObject({ task_id: bad.task_id, deliveries: 1, error: { retryable: false } });
    expect(dead[0]!.msg.error.message).toContain("over the server's request limit even alone (HTTP 413: `inputs` must have less than 512 tokens. Given: 900");
    // after the refusal naming 5, no call carried more than 5 texts; each good chunk text was in an accepted call
    // (texts that shared a call with the refused input are sent again with their own request's texts)
    const firstRefusal = model.calls.findIndex((c) => c.inputs.length > 5);
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(model.calls.slice(firstRefusal + 1).every((c) => c.inputs.length <= 5)).toBe(true);
    const accepted = model.calls.filter((c) => c.inputs.length <= 5 && !c.inputs.some((x) => x.includes('HUGE')));
    const goodTexts = [0, 1].flatMap((b) => textsOf(good, b));
    for (const t of goodTexts) expect(accepted.some((c) => c.inputs.includes(t)), t).toBe(true);
  });

  it('opens the circuit while the server is down (pulling stops, nothing is dead-lettered), then closes and drains', async () => {
    model.mode = 'down';
    const reg = registry({ defaultSpec: spec({ maxRetries: 0 }), breaker: { failureThreshold: 2, cooldownMs: 400 } });
    const breaker = () => reg.entries()[0]?.breaker;
    let refusedPulls = 0;
    const deliveries: number[] = [];
    consume(reg, {
      concurrency: 2,
      onDelivery: (n) => deliveries.push(n),
      canPull: () => {
        const ok = reg.canPull();
        if (!ok) refusedPulls++;
        return ok;
      },
    });
    const tasks = [w.task('one.md'), w.task('two.md')];
    await publishBatches(tasks.flatMap((t) => [chunkBatch(t, 0), chunkBatch(t, 1)]));

    await until('the circuit to open', () => breaker()?.state === 'open');
    const callsWhenOpened = model.calls.length;
    await new Promise((r) => setTimeout(r, 250));
    // open: no calls reach the server during the cool-down, and the workers do not pull
    expect(model.calls.length).toBe(callsWhenOpened);
    expect(reg.canPull()).toBe(false);

    model.mode = 'up';
    // read() acks what it returns, so collect across polls
    const out: EmbeddedBatch[] = [];
    await until('all four batches', async () => {
      out.push(...(await readEmbedded()));
      return out.length >= 4;
    }).catch(() => undefined);
    expect(out).toHaveLength(4);
    expect(breaker()!.state).toBe('closed');
    expect(reg.canPull()).toBe(true);
    expect(refusedPulls).toBeGreaterThan(0);
    expect(await w.count(w.names.streams.dlq)).toBe(0);
    // only the calls that tripped the breaker cost a delivery (each message at most one); waiting while open costs none
    expect(Math.max(...deliveries)).toBeLessThanOrEqual(2);
  });

  it('fails a task whose model returns vectors of another size than its knowledge base already holds', async () => {
    const reg = registry({ backends: { 'small@Test': spec({ url: `${model.url}/d4` }) } });
    const handle = handler(reg, tracer, true);
    const first = w.task('first.md');
    await handle(chunkBatch(first, 0), w.ctx());
    const second = w.task('second.md', { kb_id: first.kb_id, tenant_id: first.tenant_id, embd_id: 'small@Test' });
    const callsBefore = model.calls.length;

    const err = (await handle(chunkBatch(second, 0), w.ctx()).catch((e: unknown) => e)) as VectorDimensionMismatchError;

    expect(err).toBeInstanceOf(VectorDimensionMismatchError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`knowledge base ${first.kb_id}: it already holds 8-dim vectors (q_8_vec`);
    expect(err.message).toContain('embd_id small@Test is served by model bge-m3 which returns 4-dim vectors (q_4_vec)');
    // only the dimension probe reached the 4-dim model: no chunk was embedded for nothing
    expect(model.calls.slice(callsBefore).map((c) => c.inputs)).toEqual([['ok']]);
    expect((await readEmbedded()).map((e) => e.task.task_id)).toEqual([first.task_id]);
    // the same knowledge base with its own model keeps working
    await handle(chunkBatch(first, 1), w.ctx());
  });
});

describe('embedder: replicas', () => {
  it('two replicas split one stream and no chunk is embedded twice', async () => {
    const replicas = [registry(), registry()];
    const runs = replicas.map((r) => consume(r, { concurrency: 3 }));
    const tasks = [w.task('r1.md'), w.task('r2.md'), w.task('r3.md')];
    const batches = tasks.flatMap((t) => Array.from({ length: 6 }, (_, i) => chunkBatch(t, i)));
    await publishBatches(batches);

    await until('every batch', () => runs.reduce((n, c) => n + c.stats.done, 0) >= batches.length, 30_000);
    const out = await readEmbedded();

    const perBatch = new Map<string, number>();
    for (const e of out) perBatch.set(`${e.task.task_id}/${e.batch_no}`, (perBatch.get(`${e.task.task_id}/${e.batch_no}`) ?? 0) + 1);
    expect(perBatch.size).toBe(batches.length);
    expect([...perBatch.values()].every((n) => n === 1)).toBe(true);
    expect(runs.map((c) => c.stats.done).reduce((a, b) => a + b)).toBe(batches.length);
    expect(runs.every((c) => c.stats.done > 0)).toBe(true);
    // every chunk text reached the model exactly once across both replicas
    const chunkTexts = model.calls.flatMap((c) => c.inputs).filter((x) => x.startsWith('Task '));
    expect(chunkTexts).toHaveLength(batches.length * 3);
    expect(new Set(chunkTexts).size).toBe(chunkTexts.length);
  });
});
