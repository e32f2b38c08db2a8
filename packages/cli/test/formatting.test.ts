import type { SearchHit } from '@ragline/docstore';
import { describe, expect, it } from 'vitest';
import { documentType } from '../src/ingest.js';
import { formatHits } from '../src/search.js';
import { formatStatus, type collectStatus } from '../src/status.js';
import { APPS, parseReplicas } from '../src/supervisor.js';

describe('parseReplicas', () => {
  it('gives no overrides for an absent or empty spec', () => {
    expect(parseReplicas(undefined)).toEqual({});
    expect(parseReplicas('')).toEqual({});
  });

  it('parses per-app counts, tolerating spaces, with "bridge" as a short name for ingest-bridge', () => {
    expect(parseReplicas('embedder=4,parser=2')).toEqual({ embedder: 4, parser: 2 });
    expect(parseReplicas('enricher=3')).toEqual({ enricher: 3 });
    expect(parseReplicas(' bridge = 2 , indexer=64')).toEqual({ 'ingest-bridge': 2, indexer: 64 });
    expect(parseReplicas('ingest-bridge=3')).toEqual({ 'ingest-bridge': 3 });
  });

  it('rejects unknown apps, naming the app and listing the known ones', () => {
    expect(() => parseReplicas('parser=2,embeder=4')).toThrow(`--replicas: unknown app "embeder" (apps: ${APPS.join(', ')})`);
  });

  it.each(['parser=0', 'parser=65', 'parser=1.5', 'parser=abc', 'parser=', 'parser', 'parser=-2'])('rejects the bad count in %s', (spec) => {
    expect(() => parseReplicas(spec)).toThrow(`--replicas: "${spec}" needs a count from 1 to 64`);
  });
});

describe('documentType', () => {
  it.each([
    ['report.pdf', 'pdf'],
    ['SCAN.PDF', 'pdf'],
    ['photo.JPEG', 'visual'],
    ['diagram.png', 'visual'],
    ['icon.webp', 'visual'],
    ['talk.mp3', 'aural'],
    ['lossless.FLAC', 'aural'],
    ['notes.docx', 'doc'],
    ['table.csv', 'doc'],
    ['page.html', 'doc'],
    ['README', 'doc'],
    ['archive.pdf.txt', 'doc'],
    ['dir.pdf/notes.md', 'doc'],
  ] as const)('%s is %s', (name, type) => {
    expect(documentType(name)).toBe(type);
  });
});

function hit(over: Partial<SearchHit>): SearchHit {
  return {
    id: 'c1',
    doc_id: 'd1',
    kb_id: 'k1',
    docnm_kwd: 'manual.pdf',
    content_with_weight: 'text',
    page_num_int: [1],
    score: 0.5,
    text_score: 0.5,
    vector_score: 0.5,
    ...over,
  };
}

describe('formatHits', () => {
  it('says so when nothing matched', () => {
    expect(formatHits([])).toBe('no matching chunks');
  });

  it('numbers hits with the score to three decimals, the document and chunk id, and collapses whitespace', () => {
    const out = formatHits([
      hit({ id: 'abc', score: 0.87654, docnm_kwd: 'a.pdf', content_with_weight: '  first\n\nline\twith   gaps ' }),
      hit({ id: 'def', score: 1, docnm_kwd: 'b.md', content_with_weight: 'second' }),
    ]);
    expect(out).toBe('1. [0.877] a.pdf (chunk abc)\n   first line with gaps\n2. [1.000] b.md (chunk def)\n   second');
  });

  it('keeps text of exactly 240 characters and cuts longer text to 237 plus an ellipsis', () => {
    const exact = 'x'.repeat(240);
    expect(formatHits([hit({ content_with_weight: exact })]).split('\n')[1]).toBe(`   ${exact}`);
    const long = 'y'.repeat(300);
    const snippet = formatHits([hit({ content_with_weight: long })]).split('\n')[1]!.trimStart();
    expect(snippet).toBe(`${'y'.repeat(237)}...`);
    expect(snippet).toHaveLength(240);
  });
});

type Status = Awaited<ReturnType<typeof collectStatus>>;

function task(over: Partial<Status['tasks'][number]>): Status['tasks'][number] {
  return {
    id: 't',
    doc_id: 'doc-x',
    from_page: 0,
    to_page: 100000000,
    task_type: '',
    priority: 0,
    begin_at: null,
    process_duration: 0,
    progress: 0,
    progress_msg: '',
    retry_count: 0,
    digest: '',
    create_time: null,
    create_date: null,
    update_time: null,
    update_date: null,
    kb_id: 'kb',
    doc_name: null,
    ...over,
  };
}

describe('formatStatus', () => {
  it('prints workers, stage lag (or why it is unavailable), queue depth and recent tasks', () => {
    const beat = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
    const status: Status = {
      workers: [
        { name: 'parser_h_0', alive: true, lastBeatAt: beat, heartbeat: null },
        { name: 'embedder_h_0', alive: false, lastBeatAt: null, heartbeat: null },
      ],
      stages: [
        { stage: 'parser', pending: 3, ackPending: 1, redelivered: 0 },
        { stage: 'embedder', stream: 'RAGLINE_CHUNKS', consumer: 'embedder', error: 'consumer not found' },
      ],
      queues: [
        { stream: 'te.1.common', length: 10, pending: 2, lag: 5, consumers: [] },
        { stream: 'te.0.common', length: 0, pending: 0, lag: null, consumers: [] },
      ],
      tasks: [
        task({ id: 'a', progress: 0.5, doc_name: 'manual.pdf' }),
        task({ id: 'b', progress: 1, doc_name: 'faq.md' }),
        task({ id: 'c', progress: -1, doc_id: 'doc-c' }),
      ],
    };
    const lines = formatStatus(status).split('\n');
    // a failed task's percentage (progress -1) is not meaningful; only its state and name are pinned
    expect(lines.pop()).toMatch(/^ {2}c {2}failed .*%  doc-c$/);
    expect(lines).toEqual([
      'Workers:',
      '  up   parser_h_0  last beat 2025-01-02T03:04:05.006Z',
      '  DOWN embedder_h_0  last beat -',
      'Stages (JetStream consumers):',
      '  parser    pending 3  in flight 1  redelivered 0',
      '  embedder  unavailable: consumer not found',
      'RAGFlow queues:',
      '  te.1.common            length 10  pending 2  lag 5',
      '  te.0.common            length 0  pending 0  lag -',
      'Recent tasks:',
      '  a  running   50%  manual.pdf',
      '  b  done     100%  faq.md',
    ]);
  });

  it('says when nothing is registered or queued', () => {
    const out = formatStatus({ workers: [], stages: [], queues: [], tasks: [] });
    expect(out).toBe('Workers:\n  (none registered)\nStages (JetStream consumers):\nRAGFlow queues:\nRecent tasks:\n  (none)');
  });
});
