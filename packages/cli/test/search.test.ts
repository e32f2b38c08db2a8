import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ragline/config';
import type { DocStore, StoredChunk } from '@ragline/docstore';
import { hashingVector } from '@ragline/embedding';
import { fineGrainedTokenize, tokenize } from '@ragline/parsing';
import { docStoreFromConfig, embeddingRegistryFromConfig } from '@ragline/pipeline';
import { dropDatabase } from '@ragline/taskdb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, openClients, type Clients } from '../src/context.js';
import { searchKnowledgebase } from '../src/search.js';

const id = randomBytes(4).toString('hex');
const KEY = 'sk-search-SECRET-5150';
const dataDir = mkdtempSync(join(tmpdir(), `ragline-search-${id}-`));

/** The knowledge base's own model: an OpenAI-compatible server with 8-dim vectors that wants its key. */
const modelVector = (text: string) => Array.from(hashingVector(`model:${text}`, 8));
const seen: string[][] = [];
let server: Server;
let url = '';

let c: Clients;
let docstore: DocStore;
let cfg: CliEnv;

const TEXTS = ['rivers carry water to the sea', 'glaciers carve deep valleys', 'harbours shelter fishing boats'];

function chunk(kbId: string, docId: string, text: string, vector: number[], n: number): StoredChunk {
  return {
    id: randomBytes(8).toString('hex'),
    doc_id: docId,
    kb_id: kbId,
    docnm_kwd: `${docId}.md`,
    title_tks: docId,
    title_sm_tks: docId,
    content_with_weight: text,
    content_ltks: tokenize(text),
    content_sm_ltks: fineGrainedTokenize(tokenize(text)),
    page_num_int: [n],
    position_int: [[n, 0, 0, 0, 0]],
    top_int: [0],
    important_kwd: [],
    create_time: '2026-01-01 00:00:00',
    create_timestamp_flt: 1767225600,
    img_id: '',
    token_count: text.split(' ').length,
    [`q_${vector.length}_vec`]: vector,
  } as StoredChunk;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'bad key' } }));
        return;
      }
      const { input } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { input: string[] };
      seen.push(input);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: modelVector(t) })), usage: { total_tokens: input.length } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  cfg = loadConfig(CliEnv, {
    MYSQL_URL: `mysql://root@127.0.0.1:3306/ragline_search_${id}`,
    REDIS_URL: 'redis://127.0.0.1:6379/15',
    REDIS_KEY_PREFIX: `search-${id}:`,
    RAGLINE_DATA_DIR: dataDir,
    // no EMBEDDING_URL: every embd_id not listed below gets the in-process default, here hashing
    EMBEDDING_LOCAL_KIND: 'hashing',
    EMBEDDING_DIM: '16',
    EMBEDDING_BACKENDS: JSON.stringify({ 'bge-small@Test': { kind: 'openai', url, model: 'bge-small', apiKey: KEY } }),
  });
  c = openClients(cfg);
  await c.taskdb.migrate();
  docstore = docStoreFromConfig(cfg);
});

afterAll(async () => {
  await docstore?.close();
  if (c) await dropDatabase(c.taskdb);
  await c?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ragline search embeds the query with the knowledge base own model', () => {
  it('uses EMBEDDING_BACKENDS for a knowledge base whose embd_id is listed, and the default for the others', async () => {
    const tenantId = await c.taskdb.ensureTenant({ name: `search-${id}`, embdId: 'bge-small@Test' });
    const modelKb = await c.taskdb.ensureKnowledgebase({ name: `model-${id}`, tenantId, embdId: 'bge-small@Test' });
    const hashKb = await c.taskdb.ensureKnowledgebase({ name: `hash-${id}`, tenantId, embdId: 'ragline-hash-16@Ragline' });
    // what the embedder stored: each knowledge base's chunks carry its own model's vectors
    await docstore.ensureIndex(tenantId, 8);
    await docstore.ensureIndex(tenantId, 16);
    await docstore.upsert(tenantId, TEXTS.map((t, i) => chunk(modelKb.id, 'model-doc', t, modelVector(t), i + 1)));
    await docstore.upsert(tenantId, TEXTS.map((t, i) => chunk(hashKb.id, 'hash-doc', t, Array.from(hashingVector(t, 16)), i + 1)));
    await docstore.refresh(tenantId);
    const embedders = embeddingRegistryFromConfig(cfg);
    const deps = { taskdb: c.taskdb, docstore, embedders };

    const hits = await searchKnowledgebase(deps, TEXTS[1]!, { kb: modelKb.name, top: 3, mode: 'vector' });

    expect(seen).toEqual([[TEXTS[1]]]);
    expect(hits.map((h) => h.kb_id)).toEqual([modelKb.id, modelKb.id, modelKb.id]);
    expect(hits[0]!.content_with_weight).toBe(TEXTS[1]);
    expect(hits[0]!.vector_score).toBeCloseTo(1, 5);
    expect(embedders.keyFor(modelKb.embd_id)).toBe('bge-small@Test');

    // the other knowledge base's embd_id is not listed: the default (hashing, 16 dims), no server call
    const other = await searchKnowledgebase(deps, TEXTS[2]!, { kb: hashKb.name, top: 3, mode: 'hybrid' });
    expect(seen).toHaveLength(1);
    expect(other[0]!.kb_id).toBe(hashKb.id);
    expect(other[0]!.content_with_weight).toBe(TEXTS[2]);
    expect(other[0]!.vector_score).toBeCloseTo(1, 5);

    // full-text search embeds nothing
    const text = await searchKnowledgebase(deps, 'valleys', { kb: modelKb.name, top: 1, mode: 'fulltext' });
    expect(text[0]!.content_with_weight).toBe(TEXTS[1]);
    expect(seen).toHaveLength(1);
  });
});
