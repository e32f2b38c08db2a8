import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DocumentRow, QueuedTask } from '@ragline/taskdb';
import { makeDocx, makeXlsx } from '../../../packages/parsing/test/office-fixtures.js';
import { makeTextPdf } from '../../support/pdf.js';
import type { Environment } from '../../support/pipeline.js';

export type LoadFormat = 'txt' | 'md' | 'html' | 'csv' | 'json' | 'docx' | 'xlsx' | 'pdf';

export interface LoadDoc {
  name: string;
  format: LoadFormat;
  data: Buffer;
  /** page count of a PDF (RAGFlow plans PDF tasks by page ranges, so the producer needs it) */
  pages?: number;
}

/**
 * Parser config of the load's knowledge base. Larger chunks than the e2e default keep the few
 * documents of a few hundred KB at a few hundred chunks each, so a 200-document load stays quick.
 */
export const LOAD_PARSER_CONFIG = { chunk_token_num: 128, delimiter: '\n', layout_recognize: 'DeepDOC' } as const;

/** Deterministic pseudo-random numbers (mulberry32) seeded from a string. */
function rng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'harbour ledger vessel cargo berth pilot tide anchor crane manifest customs warehouse invoice ' +
  'queue parser chunk embedding index monitor trace replica stream consumer backlog retry signal ' +
  'river valley orchard granite meadow lantern copper willow thunder compass beacon archive ' +
  'engine signal bridge tunnel railway station platform ticket carriage timetable junction'
).split(' ');

function sentence(r: () => number, tag: string): string {
  const n = 8 + Math.floor(r() * 10);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]!);
  words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
  // the tag keeps every line of the corpus distinct, so chunk texts (and ids) never collide inside a document
  return `${words.join(' ')} (${tag}).`;
}

/** About `bytes` of text in lines, each line distinct. */
function lines(r: () => number, tag: string, bytes: number): string[] {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = sentence(r, `${tag}-${i}`);
    out.push(line);
    size += line.length + 1;
  }
  return out;
}

/** Mostly small files (0.2 - 4 KB), some of 10 - 60 KB, and every 100th of 150 - 300 KB. */
function sizeFor(r: () => number, i: number): number {
  if (i % 100 === 37) return 150_000 + Math.floor(r() * 150_000);
  if (r() < 0.06) return 10_000 + Math.floor(r() * 50_000);
  return 200 + Math.floor(r() * 3800);
}

// share of each format in the corpus, in order; the rest is plain text
const MIX: [LoadFormat, number][] = [
  ['md', 0.2],
  ['html', 0.1],
  ['csv', 0.1],
  ['json', 0.1],
  ['docx', 0.08],
  ['xlsx', 0.07],
  ['pdf', 0.05],
];

function pickFormat(x: number): LoadFormat {
  let acc = 0;
  for (const [f, share] of MIX) {
    acc += share;
    if (x < acc) return f;
  }
  return 'txt';
}

async function makeDoc(r: () => number, i: number, format: LoadFormat, bytes: number): Promise<LoadDoc> {
  const tag = `d${i}`;
  const name = `load-${String(i).padStart(4, '0')}.${format}`;
  switch (format) {
    case 'txt':
      return { name, format, data: Buffer.from(lines(r, tag, bytes).join('\n')) };
    case 'md': {
      const body = lines(r, tag, bytes);
      const parts: string[] = [`# Report ${i}`];
      body.forEach((l, j) => {
        if (j % 8 === 0) parts.push(`\n## Section ${j / 8 + 1} of report ${i}\n`);
        parts.push(j % 5 === 4 ? `- ${l}` : l);
      });
      return { name, format, data: Buffer.from(parts.join('\n')) };
    }
    case 'html': {
      const body = lines(r, tag, bytes)
        .map((l, j) => (j % 6 === 0 ? `<h2>Part ${j / 6 + 1} of page ${i}</h2>\n<p>${l}</p>` : `<p>${l}</p>`))
        .join('\n');
      return { name, format, data: Buffer.from(`<!doctype html><html><head><title>Page ${i}</title></head><body>\n${body}\n</body></html>`) };
    }
    case 'csv': {
      const rows = lines(r, tag, bytes).map((l, j) => `${j},${WORDS[j % WORDS.length]},${Math.floor(r() * 1000)},"${l.replace(/"/g, '""')}"`);
      return { name, format, data: Buffer.from(['id,kind,amount,note', ...rows].join('\n')) };
    }
    case 'json': {
      const items = lines(r, tag, bytes).map((l, j) => ({ id: `${tag}-${j}`, kind: WORDS[j % WORDS.length], note: l, amount: Math.floor(r() * 1000) }));
      return { name, format, data: Buffer.from(JSON.stringify({ document: i, items }, null, 1)) };
    }
    case 'docx': {
      const body = lines(r, tag, Math.min(bytes, 20_000));
      const blocks = [{ heading: 1 as const, text: `Memo ${i}` }, ...body.map((l) => ({ paragraph: l }))];
      return { name, format, data: Buffer.from(await makeDocx(blocks)) };
    }
    case 'xlsx': {
      const rows = lines(r, tag, Math.min(bytes, 20_000)).map((l, j) => [j, WORDS[j % WORDS.length]!, l]);
      return { name, format, data: Buffer.from(await makeXlsx({ Sheet1: [['row', 'kind', 'note'], ...rows] })) };
    }
    case 'pdf': {
      // every fourth PDF has 14 pages: two page-range tasks (12 + 2) for one document
      const pages = i % 4 === 0 ? 14 : 1 + Math.floor(r() * 3);
      return { name, format, data: await makeTextPdf(pages), pages };
    }
  }
}

/**
 * `count` documents of mixed formats and sizes, the same for the same count and seed. Distinct
 * text in every line keeps each document's chunks distinct, so expected chunk counts are exact.
 */
export async function mixedCorpus(count: number, seed = 'ragline-faults'): Promise<LoadDoc[]> {
  const r = rng(seed);
  const specs = Array.from({ length: count }, (_, i) => {
    // the big ones are plain text: the point is their size, not their format
    const format = i % 100 === 37 ? 'txt' : pickFormat(r());
    return { i, format, bytes: sizeFor(r, i), r: rng(`${seed}/${i}`) };
  });
  return Promise.all(specs.map((s) => makeDoc(s.r, s.i, s.format, s.bytes)));
}

export interface LoadPlanDoc {
  doc: DocumentRow;
  tasks: QueuedTask[];
  kbId: string;
  tenantId: string;
  name: string;
  format: LoadFormat;
  /** the file as stored, kept to recompute the expected chunks */
  data: Buffer;
}

export interface LoadPlan {
  docs: LoadPlanDoc[];
  /** every task of the load, in enqueue order */
  taskIds: string[];
}

async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * Adds every document (object, document row, task rows, as RAGFlow's API server does) and then
 * enqueues all their tasks, alternating between the environment's queues (high and low priority).
 * With `enqueue: false` only the rows are written; call `enqueuePlan` to start the load.
 */
export async function enqueueLoad(
  env: Environment,
  docs: readonly LoadDoc[],
  /** kb, tenant: names (default new ones per call); enqueue: false writes the rows only; spreadMs: see enqueuePlan */
  opts: { kb?: string; tenant?: string; parserConfig?: Record<string, unknown>; enqueue?: boolean; spreadMs?: number } = {},
): Promise<LoadPlan> {
  // A knowledge base and tenant per load by default: its counts (MySQL and doc store) cover exactly
  // this load, and each load writes a doc store table of its own, so loads run one after another on
  // one environment do not slow each other down (LanceDB work per task grows with its table).
  const own = `load-${randomBytes(3).toString('hex')}`;
  const kb = opts.kb ?? own;
  const tenant = opts.tenant ?? own;
  const added = await inParallel(docs, 8, async (d) => {
    const r = await env.addDocument(d.name, d.data, {
      kb,
      tenant,
      parserConfig: opts.parserConfig ?? { ...LOAD_PARSER_CONFIG },
      ...(d.format === 'pdf' ? { type: 'pdf', info: { pages: d.pages ?? 1 } } : {}),
    });
    return { doc: r.doc, tasks: r.tasks, kbId: r.kb.id, tenantId: r.tenantId, name: d.name, format: d.format, data: d.data } satisfies LoadPlanDoc;
  });
  const plan: LoadPlan = { docs: added, taskIds: added.flatMap((d) => d.tasks.map((t) => t.id)) };
  if (opts.enqueue !== false) await enqueuePlan(env, plan, { spreadMs: opts.spreadMs });
  return plan;
}

/**
 * XADDs every task of the plan (RAGFlow's message: the task row), spread over the environment's
 * queues. With `spreadMs` the tasks go in ten waves over that time instead of all at once, so the
 * bridge is still handing work off when a fault hits the middle of the load.
 */
export async function enqueuePlan(env: Environment, plan: LoadPlan, opts: { spreadMs?: number } = {}): Promise<void> {
  const all = plan.docs.flatMap((d) => d.tasks);
  const waves = opts.spreadMs ? 10 : 1;
  const size = Math.ceil(all.length / waves);
  for (let w = 0; w < waves; w++) {
    if (w > 0) await sleep(opts.spreadMs! / waves);
    const wave = all.slice(w * size, (w + 1) * size);
    await inParallel(wave, 16, (t, i) => env.producer.enqueue(env.queues[(w * size + i) % env.queues.length]!, { ...t }));
  }
}
