import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DocStore } from '@ragline/docstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';
import { mixedCorpus, type LoadDoc } from './support/load.js';
import {
  loadUnderFault,
  startEs429Proxy,
  startEsFixture,
  startFaultyEmbeddingServer,
  type Es429Proxy,
  type EsFixture,
  type FaultRun,
  type FaultyEmbeddingServer,
} from './support/services.js';

/**
 * Backend faults under load (issue #8): the embedding server failing (500s, 429s with Retry-After,
 * requests that hang) and the Elasticsearch doc store answering bulk writes with 429s. Each fault
 * gets its own load of 200+ mixed documents, is injected once part of the load is done and lifted
 * again; then every task must be done with each expected chunk stored exactly once.
 */

const DOCS = Number(process.env.FAULT_DOCS ?? 200);
const timings: Record<string, unknown>[] = [];

function expectAllDone(run: FaultRun): void {
  timings.push(run.timing);
  expect(run.report.failed, JSON.stringify(run.report.failures.slice(0, 5))).toBe(0);
  expect(run.report.done).toBe(run.report.tasks);
}

function dumpLogs(env: Environment | undefined, suffix: string): void {
  if (process.env.FAULT_LOG_FILE && env) writeFileSync(`${process.env.FAULT_LOG_FILE}.${suffix}`, env.logs.map((l) => `[${l.app}] ${l.line}`).join('\n'));
}

afterAll(() => {
  console.log(`backend faults (${DOCS} documents per load):\n${timings.map((t) => `  ${JSON.stringify(t)}`).join('\n')}`);
});

/** Breaker transitions the embedder logged after `from` (index into env.logs). */
function breakerStates(env: Environment, from: number): string[] {
  return env.logs
    .slice(from)
    .filter((l) => l.app.startsWith('embedder') && l.line.includes('circuit'))
    .map((l) => (JSON.parse(l.line) as { state?: string }).state ?? '?');
}

describe('embedding server faults under load', () => {
  let server: FaultyEmbeddingServer;
  let env: Environment;
  let corpus: LoadDoc[];

  beforeAll(async () => {
    [server, corpus] = await Promise.all([startFaultyEmbeddingServer({ dim: 384 }), mixedCorpus(DOCS, 'embedding')]);
    env = await createEnvironment({
      ...server.env('openai'),
      // short enough that a hanging server is noticed in seconds (the default is RAGFlow's 60 s)
      EMBEDDING_TIMEOUT_MS: '1500',
      EMBEDDING_MAX_RETRIES: '1',
      EMBEDDING_BREAKER_FAILURES: '5',
      EMBEDDING_BREAKER_COOLDOWN_MS: '2000',
      NATS_ACK_WAIT_MS: '3000',
    });
    env.startAll();
  });

  afterAll(async () => {
    dumpLogs(env, 'embedding');
    await env?.cleanup();
    await server?.close();
  });

  /** Holds `fault` for `ms`, then lets the server answer normally again. */
  function window(fault: Parameters<FaultyEmbeddingServer['setFault']>[0], ms: number) {
    return async () => {
      const before = server.stats.log.length;
      const logFrom = env.logs.length;
      server.setFault(fault);
      await sleep(ms);
      server.setFault({ kind: 'ok' });
      const during = server.stats.log.slice(before);
      return { windowMs: ms, requestsDuringFault: during.length, breaker: breakerStates(env, logFrom).join('>'), during, logFrom };
    };
  }

  it('500s for 10 s: calls are retried, the breaker opens and closes again, every task completes', async () => {
    let seen: Awaited<ReturnType<ReturnType<typeof window>>> | undefined;
    const run = await loadUnderFault(env, corpus, {
      name: 'embedding 500s',
      lateDuringFault: true,
      fault: async () => {
        seen = await window({ kind: 'status', status: 500 }, 10_000)();
        return { windowMs: seen.windowMs, requests500: seen.during.filter((r) => r.status === 500).length, breaker: seen.breaker };
      },
    });
    expectAllDone(run);
    expect(seen!.during.filter((r) => r.status === 500).length).toBeGreaterThan(0);
    // the breaker stopped the calls while open and closed again once a probe succeeded
    const states = breakerStates(env, seen!.logFrom);
    expect(states).toContain('open');
    expect(states.at(-1)).toBe('closed');
  });

  it('429s with Retry-After for 8 s: the embedder waits as told, every task completes', async () => {
    const retryAfterS = 1;
    let seen: Awaited<ReturnType<ReturnType<typeof window>>> | undefined;
    const run = await loadUnderFault(env, corpus, {
      name: 'embedding 429s',
      lateDuringFault: true,
      fault: async () => {
        seen = await window({ kind: 'rate-limit', retryAfterS }, 8_000)();
        return { windowMs: seen.windowMs, requests429: seen.during.filter((r) => r.status === 429).length, breaker: seen.breaker };
      },
    });
    expectAllDone(run);
    const limited = seen!.during.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // Retry-After reaches the redelivery: a batch whose call gave up is handed back for exactly that long
    const retries = env.logs
      .filter((l) => l.app.startsWith('embedder') && l.line.includes('will retry') && l.line.includes('HTTP 429'))
      .map((l) => (JSON.parse(l.line) as { delay_ms?: number }).delay_ms);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((d) => d === retryAfterS * 1000)).toBe(true);
    // and bounds the request rate: each of the embedder's 4 calls in flight asks at most twice per
    // Retry-After (a retry, then the next call's first attempt); jittered back-off would ask ~8 times a second
    const perSecond = new Map<number, number>();
    for (const r of limited) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4 * 3);
  });

  it('hanging requests for 12 s: calls time out and are retried, the breaker opens and closes, every task completes', async () => {
    let seen: Awaited<ReturnType<ReturnType<typeof window>>> | undefined;
    const run = await loadUnderFault(env, corpus, {
      name: 'embedding hangs',
      lateDuringFault: true,
      fault: async () => {
        seen = await window({ kind: 'hang' }, 12_000)();
        return { windowMs: seen.windowMs, hung: seen.during.filter((r) => r.status === 'hang').length, breaker: seen.breaker };
      },
    });
    expectAllDone(run);
    const hung = seen!.during.filter((r) => r.status === 'hang');
    // timed-out attempts were retried: more hanging requests than calls the embedder runs at once
    expect(hung.length).toBeGreaterThan(4);
    const states = breakerStates(env, seen!.logFrom);
    expect(states).toContain('open');
    expect(states.at(-1)).toBe('closed');
    expect(env.logs.some((l) => l.app.startsWith('embedder') && l.line.includes('timed out after 1500 ms'))).toBe(true);
  });
});

describe('doc store 429s under load (Elasticsearch adapter)', () => {
  let fixture: EsFixture | undefined;
  let proxy: Es429Proxy;
  let env: Environment;
  let corpus: LoadDoc[];
  let docstore: DocStore;
  const tenants: string[] = [];
  /** a real cluster when ELASTICSEARCH_URL is set, else the in-memory ES test fixture */
  const realCluster = process.env.ELASTICSEARCH_URL;

  beforeAll(async () => {
    if (!realCluster) fixture = await startEsFixture();
    const esUrl = realCluster ?? fixture!.url;
    [proxy, corpus] = await Promise.all([startEs429Proxy(esUrl, { seed: 8 }), mixedCorpus(DOCS, 'docstore')]);
    env = await createEnvironment(
      {
        // the test reads the cluster directly...
        ELASTICSEARCH_URL: esUrl,
        ...(process.env.ES_USERNAME ? { ES_USERNAME: process.env.ES_USERNAME, ES_PASSWORD: process.env.ES_PASSWORD ?? '' } : {}),
        // 384 dims: RAGFlow's mapping has no template for it, so the explicit vector mapping is used too
        EMBEDDING_DIM: '384',
        NATS_ACK_WAIT_MS: '3000',
      },
      // ...the indexer writes through the 429 proxy
      { appEnv: () => ({ ELASTICSEARCH_URL: proxy.url }) },
    );
    docstore = env.docstore();
    env.startAll();
  });

  afterAll(async () => {
    dumpLogs(env, 'docstore');
    if (realCluster) {
      // the indices this run created (one per tenant); the fixture simply goes away
      const auth = process.env.ES_USERNAME ? { authorization: `Basic ${Buffer.from(`${process.env.ES_USERNAME}:${process.env.ES_PASSWORD ?? ''}`).toString('base64')}` } : undefined;
      for (const t of tenants) await fetch(`${realCluster.replace(/\/$/, '')}/ragflow_${t}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
    }
    await docstore?.close();
    await env?.cleanup();
    await proxy?.close();
    await fixture?.close();
  });

  it('bulk 429s (whole requests and single items) for 10 s: retried until every chunk is stored exactly once', async () => {
    const run = await loadUnderFault(env, corpus, {
      name: 'doc store 429s',
      lateDuringFault: true,
      invariants: { docstore },
      fault: async () => {
        const before = { ...proxy.stats };
        proxy.reject({ bulkRequests: 0.3, bulkItems: 0.2 });
        await sleep(10_000);
        proxy.reject({ bulkRequests: 0, bulkItems: 0 });
        return {
          windowMs: 10_000,
          bulkRequests: proxy.stats.bulkRequests - before.bulkRequests,
          rejectedRequests: proxy.stats.rejectedRequests - before.rejectedRequests,
          rejectedItems: proxy.stats.rejectedItems - before.rejectedItems,
        };
      },
    });
    tenants.push(...new Set(run.plan.docs.map((d) => d.tenantId)));
    expectAllDone(run);
    // both kinds of rejection really happened while the load ran
    expect(run.timing.rejectedRequests).toBeGreaterThan(0);
    expect(run.timing.rejectedItems).toBeGreaterThan(0);
    if (fixture) {
      // the invariants count per knowledge base; this is the whole index: nothing else reached it
      const stored = tenants.flatMap((t) => fixture!.ids(`ragflow_${t}`));
      expect(stored.length).toBe(run.report.chunks);
      expect(new Set(stored).size).toBe(stored.length);
    }
  });
});
