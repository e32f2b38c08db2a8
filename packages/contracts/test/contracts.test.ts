import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONTRACT_VERSION,
  ChunkBatch,
  ContractError,
  EmbeddedBatch,
  PipelineEvent,
  RagflowQueueMessage,
  SCHEMAS,
  TaskContext,
  TaskMessage,
  decode,
  encode,
  enrichSpecFor,
  enrichmentRequested,
  msgIds,
  packVector,
  ragflowQueueName,
  ragflowQueueNames,
  topologyNames,
  unpackVector,
  type ChunkInput,
  type TaskRef,
} from '../src/index.js';

const ref: TaskRef = {
  task_id: 'a'.repeat(32),
  doc_id: 'b'.repeat(32),
  kb_id: 'c'.repeat(32),
  tenant_id: 'd'.repeat(32),
  embd_id: 'bge-m3@TEI',
  doc_name: 'x.md',
  from_page: 0,
  to_page: 100000000,
  received_at: 1,
};

const chunk: ChunkInput = {
  id: '0123456789abcdef',
  doc_id: ref.doc_id,
  kb_id: ref.kb_id,
  docnm_kwd: 'x.md',
  title_tks: 'x',
  title_sm_tks: 'x',
  content_with_weight: 'hello',
  content_ltks: 'hello',
  content_sm_ltks: 'hello',
  page_num_int: [1],
  position_int: [[1, 0, 0, 0, 0]],
  top_int: [0],
  create_time: '2026-11-24 10:00:00',
  create_timestamp_flt: 1.5,
  img_id: '',
  token_count: 1,
};

describe('subjects and names', () => {
  it('derives every name from two prefixes', () => {
    const n = topologyNames('dev', 'DEV');
    expect(n.subjects.tasks).toBe('dev.tasks.parse');
    expect(n.subjects.dlq('embedder')).toBe('dev.dlq.embedder');
    expect(n.streams.events).toBe('DEV_EVENTS');
    expect(n.taskStateBucket).toBe('dev_task_state');
    expect(() => topologyNames('bad prefix')).toThrow(/subject prefix/);
    expect(() => topologyNames('ok', 'BAD.NAME')).toThrow(/stream prefix/);
  });

  it("names RAGFlow's queues in both schemes, high priority first", () => {
    expect(ragflowQueueNames()).toEqual(['te.1.common', 'te.0.common']);
    expect(ragflowQueueNames('legacy')).toEqual(['rag_flow_svr_queue_1', 'rag_flow_svr_queue']);
    expect(ragflowQueueName(0, 'legacy')).toBe('rag_flow_svr_queue');
    expect(ragflowQueueName(1)).toBe('te.1.common');
  });

  it('routes chunk batches parser -> enricher -> embedder through one stream under two subjects and ids', () => {
    const n = topologyNames();
    expect(n.subjects.enrich).toBe('ragline.chunks.enrich');
    expect(n.subjects.chunks).toBe('ragline.chunks.embed');
    expect(n.consumers.enricher).toBe('enricher');
    // the chunks stream's dedupe window would drop the enricher's republish under the parser's id
    const a = { task_id: 't', received_at: 1000 };
    expect(msgIds.enrichBatch(a, 3)).toBe('enrich.t.1000.3');
    expect(msgIds.enrichBatch(a, 3)).not.toBe(msgIds.chunkBatch(a, 3));
  });

  it('builds message ids deterministic within an attempt and distinct across attempts', () => {
    const first = { task_id: 't', received_at: 1000 };
    const redelivered = { ...first };
    const retry = { task_id: 't', received_at: 2000 };
    expect(msgIds.chunkBatch(first, 3)).toBe('chunks.t.1000.3');
    const perAttempt = [
      (a: typeof first) => msgIds.enrichBatch(a, 0),
      (a: typeof first) => msgIds.chunkBatch(a, 0),
      (a: typeof first) => msgIds.embeddedBatch(a, 0),
      (a: typeof first) => msgIds.batchIndexed(a, 0),
      msgIds.manifest,
      msgIds.cancelled,
      msgIds.completed,
    ];
    for (const id of perAttempt) {
      // a redelivery of the same attempt dedupes; a retry's copy inside the window must not (RAGFlow #18942)
      expect(id(redelivered)).toBe(id(first));
      expect(id(retry)).not.toBe(id(first));
    }
    // and no two hops share an id within one attempt (they share dedupe windows)
    expect(new Set(perAttempt.map((id) => id(first))).size).toBe(perAttempt.length);
  });
});

describe('codec', () => {
  it('round-trips a valid message and fills defaults', () => {
    const bytes = encode(ChunkBatch, { v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [chunk] });
    const back = decode(ChunkBatch, bytes);
    expect(back.chunks[0]!.important_kwd).toEqual([]);
    expect(back.task.task_id).toBe(ref.task_id);
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encode(ChunkBatch, { v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [] } as never)).toThrow(ContractError);
    expect(() => encode(ChunkBatch, { v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [{ ...chunk, id: 'xyz' }] })).toThrow(/xxh64/);
  });

  it('names the failing path and rejects other versions and non-JSON', () => {
    expect(() => decode(TaskMessage, '{"v":1,"kind":"task"}')).toThrow(/task: /);
    expect(() => decode(ChunkBatch, JSON.stringify({ v: 2, kind: 'chunks', task: ref, batch_no: 0, chunks: [chunk] }))).toThrow(/v:/);
    let err: ContractError | undefined;
    try {
      decode(ChunkBatch, 'not json');
    } catch (e) {
      err = e as ContractError;
    }
    expect(err).toBeInstanceOf(ContractError);
    expect(err!.retryable).toBe(false);
    expect(err!.message).toMatch(/not JSON/);
  });

  it('checks one vector per chunk in an embedded batch', () => {
    const v = packVector([0.1, 0.2]);
    const base = { v: 1 as const, kind: 'embedded' as const, task: ref, batch_no: 0, model: 'm', tokens: 3, chunks: [chunk] };
    expect(() => encode(EmbeddedBatch, { ...base, vectors: { encoding: 'f32le-base64', dim: 2, data: [v, v] } })).toThrow(/one entry per chunk/);
    expect(decode(EmbeddedBatch, encode(EmbeddedBatch, { ...base, vectors: { encoding: 'f32le-base64', dim: 2, data: [v] } })).vectors.dim).toBe(2);
  });

  it('discriminates pipeline events by kind', () => {
    const e = decode(PipelineEvent, JSON.stringify({ v: 1, kind: 'completed', task_id: 't', doc_id: 'd', kb_id: 'k', at: 1, chunks: 2, tokens: 3, batches: 1, duration_ms: 5 }));
    expect(e.kind).toBe('completed');
    expect(() => decode(PipelineEvent, JSON.stringify({ v: 1, kind: 'other', task_id: 't', doc_id: 'd', at: 1 }))).toThrow(ContractError);
  });

  it('accepts RAGFlow queue messages with extra keys but requires id', () => {
    const m = decode(RagflowQueueMessage, '{"id":"abc","doc_id":"d","progress":0.0,"digest":"ff","priority":0}');
    expect(m.id).toBe('abc');
    expect((m as Record<string, unknown>).digest).toBe('ff');
    expect(() => decode(RagflowQueueMessage, '{"doc_id":"d"}')).toThrow(/id/);
  });
});

describe('packed vectors', () => {
  it('round-trips float32 exactly and checks the dimension', () => {
    const vec = Float32Array.from([0.5, -1.25, 3.0000001, 0]);
    const packed = packVector(vec);
    expect(packed.length).toBeLessThan(JSON.stringify(Array.from(vec)).length * 2);
    expect(Array.from(unpackVector(packed, 4))).toEqual(Array.from(vec));
    expect(() => unpackVector(packed, 5)).toThrow(/expected 5/);
  });

  it('is at least 2x smaller than JSON numbers for a 1024-dim vector', () => {
    const vec = Array.from({ length: 1024 }, (_, i) => Math.sin(i) / 32);
    expect(JSON.stringify(vec).length / packVector(vec).length).toBeGreaterThan(2);
  });
});

describe('JSON Schema export', () => {
  it('is committed and current for every message', () => {
    const dir = join(import.meta.dirname, '..', 'schema');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(SCHEMAS).map((n) => `${n}.json`).sort());
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const onDisk = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      const fresh = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
      expect(onDisk.$id).toBe(`https://ragline.dev/schema/v${CONTRACT_VERSION}/${name}.json`);
      expect({ ...onDisk, $id: undefined, title: undefined }).toEqual({ ...fresh, $id: undefined, title: undefined });
    }
  });
});

describe('enrichment spec of a task', () => {
  const task = {
    task_id: 't',
    doc_id: 'd',
    kb_id: 'k',
    tenant_id: 'tn',
    task_type: '',
    from_page: 0,
    to_page: 100,
    priority: 0,
    retry_count: 1,
    parser_id: 'naive',
    parser_config: { chunk_token_num: 128 },
    doc_name: 'x.md',
    doc_type: 'doc',
    bucket: 'k',
    location: 'x.md',
    size: 1,
    language: 'English',
    embd_id: 'e',
    pagerank: 0,
    received_at: 1,
  };

  it('parses task contexts from before llm_id and kb_parser_config', () => {
    const parsed = TaskContext.parse(task);
    expect(parsed.llm_id).toBeUndefined();
    expect(TaskContext.parse({ ...task, llm_id: 'm@F', kb_parser_config: { tag_kb_ids: ['a'] } }).kb_parser_config).toEqual({ tag_kb_ids: ['a'] });
  });

  it('is undefined when nothing is asked, so the batch passes the enricher untouched', () => {
    expect(enrichSpecFor(TaskContext.parse(task))).toBeUndefined();
    expect(enrichSpecFor(TaskContext.parse({ ...task, parser_config: { auto_keywords: 0, auto_questions: 0, enable_metadata: true } }))).toBeUndefined();
    expect(enrichmentRequested(undefined)).toBe(false);
  });

  it("reads each feature where RAGFlow's task executor reads it", () => {
    const spec = enrichSpecFor(
      TaskContext.parse({
        ...task,
        llm_id: 'qwen-plus@Tongyi-Qianwen',
        language: 'Chinese',
        parser_config: { auto_keywords: 5, auto_questions: '2', toc_extraction: true, tag_kb_ids: ['ignored'] },
        kb_parser_config: { tag_kb_ids: ['tagkb'], topn_tags: 4 },
      }),
    )!;
    expect(spec).toMatchObject({ llm_id: 'qwen-plus@Tongyi-Qianwen', language: 'Chinese', auto_keywords: 5, auto_questions: 2, tag_kb_ids: ['tagkb'], topn_tags: 4, toc_extraction: true });
    // a document's own llm_id wins over the tenant's; TOC extraction is for the naive method only
    const own = enrichSpecFor(TaskContext.parse({ ...task, parser_id: 'book', llm_id: 'a@F', parser_config: { llm_id: 'b@F', auto_questions: 1, toc_extraction: true } }))!;
    expect(own.llm_id).toBe('b@F');
    expect(own.toc_extraction).toBe(false);
    expect(own.topn_tags).toBe(3);
    const meta = enrichSpecFor(TaskContext.parse({ ...task, parser_config: { enable_metadata: true, metadata: [{ key: 'author' }] } }))!;
    expect(meta.enable_metadata).toBe(true);
    expect(meta.metadata).toEqual([{ key: 'author' }]);
  });

  it('carries document metadata on chunk and embedded batches', () => {
    const b = decode(ChunkBatch, encode(ChunkBatch, { v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [chunk], doc_metadata: { author: ['Ann'] } }));
    expect(b.doc_metadata).toEqual({ author: ['Ann'] });
  });
});
