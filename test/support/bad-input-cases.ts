// The bad-input corpus of the end-to-end suite (test/e2e/bad-input.test.ts): what each case feeds into
// the running pipeline and where its specific error must surface. Generators of bad files come from
// the parsing package's fixtures; nothing here parses or validates anything itself.
import type { Publisher } from '@ragline/bus';
import type { Stage, TaskRef } from '@ragline/contracts';
import { addZeroEntry, makeDocx, makeXlsx } from '../../packages/parsing/test/office-fixtures.js';
import { makePdf } from '../../packages/parsing/test/pdf-fixtures.js';
import { makeTextPdf } from './pdf.js';
import type { Environment } from './pipeline.js';

/** What a case's checks need to find its outcome. */
export interface Fed {
  /** Redis entry id of a queue case */
  entryId?: string;
  /** the task (and its document / knowledge base) the bad input belongs to, when there is one in MySQL */
  taskId?: string;
  docId?: string;
  kbId?: string;
  /** Nats-Msg-Id of the JetStream message a DLQ entry is expected for */
  msgId?: string;
}

export interface CaseContext {
  env: Environment;
  /** raw publishing into JetStream (no schema check on the way in) */
  publisher: Publisher;
  /** XADD of arbitrary fields into RAGFlow's high-priority queue; returns the entry id */
  xadd(fields: string[]): Promise<string>;
  /** a document with one planned task in MySQL, never enqueued: contract cases aim their messages at it */
  target(name: string): Promise<{ ref: TaskRef; taskId: string; docId: string; kbId: string }>;
  /** runs SQL on the environment's database */
  sql(statement: string, params: unknown[]): Promise<void>;
}

/** Where the case's error must show up, with the text expected there. */
export type Surface =
  /** a bridge log line for the case's entry (by entry id) or task (by task id) */
  | { at: 'bridge-log'; msg: string; error?: RegExp; by: 'entry' | 'task' }
  /** the task failed (progress -1) with this line in progress_msg, and its document too (run 4) */
  | { at: 'task'; line: RegExp; documentFailed?: boolean }
  /** a dead letter in the DLQ stream for the case's message, with this stage and error */
  | { at: 'dlq'; stage: Stage; error: RegExp; deliveries?: number }
  /** a monitor log line with this error */
  | { at: 'monitor-log'; msg: string; error: RegExp };

export interface BadInputCase {
  group: 'queue' | 'file' | 'contract';
  name: string;
  feed(ctx: CaseContext): Promise<Fed>;
  expect(fed: Fed): Surface[];
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** a progress_msg line written for a failure: `HH:MM:SS [ERROR]<text>` */
const failedLine = (text: string): RegExp => new RegExp(`\\d\\d:\\d\\d:\\d\\d \\[ERROR\\]${text}`);
const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A queue case: a raw entry with these fields, dropped by the bridge with `error` in its log line. */
function malformedEntry(name: string, fields: () => string[], error: RegExp): BadInputCase {
  return {
    group: 'queue',
    name,
    feed: async (ctx) => ({ entryId: await ctx.xadd(fields()) }),
    expect: () => [{ at: 'bridge-log', by: 'entry', msg: 'malformed queue entry dropped', error }],
  };
}

/** A file case: a document with this content, queued as RAGFlow does, failed by the parser with `error`. */
function badFile(
  name: string,
  file: string,
  content: () => Promise<Buffer | Uint8Array | null> | Buffer | null,
  error: (fed: Fed) => string | RegExp,
  opts: { info?: { pages?: number }; prepare?: (ctx: CaseContext, fed: Fed) => Promise<void>; task?: number } = {},
): BadInputCase {
  return {
    group: 'file',
    name,
    async feed(ctx) {
      const data = await content();
      // PDFs are planned in page ranges as RAGFlow does, from the page count it found at upload
      const pdf = file.endsWith('.pdf') ? { type: 'pdf', info: opts.info ?? { pages: 1 } } : { info: opts.info };
      const { doc, kb, tasks } = await ctx.env.addDocument(file, data === null ? null : Buffer.from(data), pdf);
      const task = tasks[opts.task ?? 0]!;
      const fed = { taskId: task.id, docId: doc.id, kbId: kb.id, msgId: `task.${task.id}` };
      await opts.prepare?.(ctx, fed);
      for (const t of tasks) await ctx.env.producer.enqueue(ctx.env.queues[1]!, { ...t });
      return fed;
    },
    expect(fed) {
      const e = error(fed);
      const text = typeof e === 'string' ? esc(e) : e.source;
      return [
        { at: 'task', line: failedLine(`parser failed: ${text}`), documentFailed: true },
        // parse errors are permanent: dead-lettered on the first delivery, never retried
        { at: 'dlq', stage: 'parser', error: new RegExp(`^${text}`), deliveries: 1 },
      ];
    },
  };
}

/** A contract case: raw bytes published on a stage's subject under the header of a real task. */
function injected(
  name: string,
  subject: (ctx: CaseContext) => string,
  body: (ref: TaskRef) => string | Uint8Array,
  stage: Stage,
  error: RegExp,
  opts: { withTask?: boolean } = {},
): BadInputCase {
  const withTask = opts.withTask ?? true;
  return {
    group: 'contract',
    name,
    async feed(ctx) {
      const t = await ctx.target(`contract-${name.replace(/[^a-z0-9]+/gi, '-')}.txt`);
      const raw = body(t.ref);
      const msgId = `bad-input.${t.taskId}`;
      await ctx.publisher.publishRaw(subject(ctx), typeof raw === 'string' ? enc(raw) : raw, {
        msgID: msgId,
        ...(withTask ? { taskId: t.taskId, docId: t.docId } : {}),
      });
      return { taskId: t.taskId, docId: t.docId, kbId: t.kbId, msgId };
    },
    expect() {
      const out: Surface[] = [{ at: 'dlq', stage, error, deliveries: 1 }];
      if (withTask) out.push({ at: 'task', line: failedLine(`${stage} failed: ${error.source.replace(/^\^/, '')}`), documentFailed: true });
      else out.push({ at: 'monitor-log', msg: 'dead letter without task id', error });
      return out;
    },
  };
}

const chunk = (ref: TaskRef, over: Record<string, unknown> = {}) => ({
  id: 'a1b2c3d4e5f60718',
  doc_id: ref.doc_id,
  kb_id: ref.kb_id,
  docnm_kwd: ref.doc_name,
  title_tks: 'contract',
  title_sm_tks: 'contract',
  content_with_weight: 'a chunk injected by the bad-input suite',
  content_ltks: 'a chunk inject by the bad input suit',
  content_sm_ltks: 'a chunk inject by the bad input suit',
  page_num_int: [1],
  position_int: [[1, 0, 100, 0, 20]],
  top_int: [0],
  important_kwd: [],
  create_time: '2024-01-01 00:00:00',
  create_timestamp_flt: 1704067200,
  img_id: '',
  token_count: 8,
  ...over,
});
/** `dims` float32 values, base64: one packed vector */
const packed = (dims: number): string => Buffer.from(new Float32Array(dims).fill(0.5).buffer).toString('base64');

const tasksSubject = (ctx: CaseContext) => ctx.env.names.subjects.tasks;
const chunksSubject = (ctx: CaseContext) => ctx.env.names.subjects.chunks;
const embeddedSubject = (ctx: CaseContext) => ctx.env.names.subjects.embedded;
const manifestSubject = (ctx: CaseContext) => ctx.env.names.subjects.manifest;
const progressSubject = (ctx: CaseContext) => ctx.env.names.subjects.progress;

/** Bytes no text format accepts: a PNG header, NULs and control bytes. */
const binaryGarbage = (): Buffer =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.alloc(256, 7), Buffer.alloc(64)]);

/** The server's file limit for the suite's environment (PARSER_MAX_FILE_BYTES). */
export const MAX_FILE_BYTES = 1024 * 1024;

export const QUEUE_CASES: BadInputCase[] = [
  malformedEntry('entry that is not JSON', () => ['message', '{"id": "t1", "doc_id": '], /^invalid queue entry: not JSON \(.+\)$/),
  malformedEntry('entry without a message field', () => ['payload', '{"id":"t2"}'], /^entry has no "message" field$/),
  malformedEntry(
    'JSON object without an id',
    () => ['message', '{"doc_id":"d1","from_page":0,"to_page":12}'],
    /^invalid queue entry: id: Invalid input: expected string, received undefined$/,
  ),
  malformedEntry('id that is a number', () => ['message', '{"id":12345}'], /^invalid queue entry: id: Invalid input: expected string, received number$/),
  malformedEntry('JSON that is a list', () => ['message', '[1,2,3]'], /^invalid queue entry: \(root\): Invalid input: expected object, received array$/),
  malformedEntry(
    'doc_ids that is not a list',
    () => ['message', '{"id":"t3","doc_ids":"d1"}'],
    /^invalid queue entry: doc_ids: Invalid input: expected array, received string$/,
  ),
  malformedEntry(
    'huge entry: 4 MB that is not JSON',
    () => ['message', `{"id":"t4","pad":"${'x'.repeat(4 * 1024 * 1024)}`],
    // the log names the problem without echoing megabytes of input
    /^invalid queue entry: not JSON \(.{1,200}\)$/,
  ),
  malformedEntry('huge id (100 kB)', () => ['message', JSON.stringify({ id: 'i'.repeat(100_000) })], /^invalid queue entry: id: Too big: expected string to have <=64 characters$/),
  {
    group: 'queue',
    name: 'unknown task id',
    async feed(ctx) {
      const taskId = `nosuchtask${Date.now()}`;
      await ctx.xadd(['message', JSON.stringify({ id: taskId, doc_id: 'nosuchdoc', from_page: 0, to_page: 1 })]);
      return { taskId };
    },
    expect: () => [{ at: 'bridge-log', by: 'task', msg: 'collect task is unknown' }],
  },
  {
    group: 'queue',
    name: 'task whose document was deleted',
    async feed(ctx) {
      const t = await ctx.target('deleted-document.txt');
      await ctx.sql('DELETE FROM document WHERE id = ?', [t.docId]);
      await ctx.xadd(['message', JSON.stringify({ id: t.taskId, doc_id: t.docId })]);
      return { taskId: t.taskId, docId: t.docId };
    },
    expect: () => [
      { at: 'bridge-log', by: 'task', msg: 'collect task is unknown' },
      { at: 'task', line: failedLine(`Task dropped: its document \\w+ no longer exists\\.`) },
    ],
  },
  {
    group: 'queue',
    name: 'task type Ragline does not run (raptor)',
    async feed(ctx) {
      const t = await ctx.target('raptor.txt');
      await ctx.xadd(['message', JSON.stringify({ id: t.taskId, doc_id: t.docId, task_type: 'raptor' })]);
      return { taskId: t.taskId, docId: t.docId };
    },
    expect: () => [
      { at: 'task', line: failedLine(esc('Ragline does not run task type "raptor"; only standard chunking tasks are supported.')), documentFailed: true },
    ],
  },
  {
    group: 'queue',
    name: 'huge task type (64 kB)',
    async feed(ctx) {
      const t = await ctx.target('huge-type.txt');
      await ctx.xadd(['message', JSON.stringify({ id: t.taskId, doc_id: t.docId, task_type: `graphrag${'!'.repeat(64 * 1024)}` })]);
      return { taskId: t.taskId, docId: t.docId };
    },
    // the line keeps its meaning: the type is cut short, not the explanation
    expect: () => [
      {
        at: 'task',
        line: failedLine(`Ragline does not run task type "graphrag!{56}\\.\\.\\." \\(65,544 characters\\); only standard chunking tasks are supported\\.`),
        documentFailed: true,
      },
    ],
  },
  {
    group: 'queue',
    name: 'task that already used its 3 attempts',
    async feed(ctx) {
      const t = await ctx.target('three-attempts.txt');
      await ctx.sql('UPDATE task SET retry_count = 3 WHERE id = ?', [t.taskId]);
      await ctx.xadd(['message', JSON.stringify({ id: t.taskId, doc_id: t.docId })]);
      return { taskId: t.taskId, docId: t.docId };
    },
    expect: () => [
      { at: 'task', line: /ERROR: Task is abandoned after 3 times attempts\./, documentFailed: true },
      { at: 'bridge-log', by: 'task', msg: 'task abandoned after 3 attempts' },
    ],
  },
];

export const FILE_CASES: BadInputCase[] = [
  badFile('empty text file', 'empty.txt', () => Buffer.alloc(0), () => 'empty file: empty.txt has no text'),
  badFile('HTML with markup and no text', 'blank.html', () => enc('<html><head><title></title><script>x()</script></head><body> </body></html>'), () => 'empty file: blank.html has no text'),
  badFile(
    'binary garbage under a text extension',
    'photo.txt',
    binaryGarbage,
    () => 'photo.txt: binary file: it contains NUL bytes, so it is not plain text. Check that the file extension matches its content.',
  ),
  badFile('JSON file that does not parse', 'data.json', () => enc('{"title": "unterminated", "items": [1, 2'), () => /invalid JSON: data\.json could not be parsed \(.+\)/),
  badFile(
    'truncated DOCX',
    'cut.docx',
    async () => {
      const d = await makeDocx([{ heading: 1, text: 'Title' }, { paragraph: 'Body text that will be cut off.' }]);
      return d.subarray(0, Math.floor(d.byteLength / 2));
    },
    () => /corrupt file: cut\.docx is not a readable zip archive \(.+\); the file is probably truncated or damaged\. Save it again and upload it\./,
  ),
  badFile(
    'plain text named .docx',
    'notes.docx',
    () => enc('just some text'),
    () =>
      'corrupt file: notes.docx is not a Word document (a .docx file is a zip archive, and this one does not start like one). Legacy .doc files must be saved as .docx first.',
  ),
  badFile(
    'password-protected (OLE2) DOCX',
    'locked.docx',
    () => {
      const ole = Buffer.alloc(4096);
      ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
      return ole;
    },
    () => /corrupt file: locked\.docx is an OLE2 compound file, not a zip archive: it is either password-protected/,
  ),
  badFile(
    'DOCX zip bomb (64 MiB of zeros inside)',
    'bomb.docx',
    async () => addZeroEntry(await makeDocx([{ paragraph: 'Innocent text.' }]), 'word/media/padding.bin', 64 * 1024 * 1024),
    () => /zip bomb refused: word\/media\/padding\.bin in bomb\.docx expands from [\d,]+ bytes to 67,108,864 bytes \(\d+x\); the limit is 100x\./,
  ),
  badFile(
    'XLSX zip bomb (16 MiB of zeros inside)',
    'bomb.xlsx',
    async () => addZeroEntry(await makeXlsx({ S: [['h'], ['v']] }), 'xl/media/padding.bin', 16 * 1024 * 1024),
    () => /zip bomb refused: xl\/media\/padding\.bin in bomb\.xlsx expands from [\d,]+ bytes to 16,777,216 bytes/,
  ),
  badFile(
    'unsupported extension (.exe)',
    'setup.exe',
    () => enc('MZ\x90\x00'),
    () => /unsupported file type: setup\.exe is EXE data .* by its content, which no parser reads; supported formats: .*\.docx/,
  ),
  // a text file without an extension is read as text (its bytes decide); binary content no parser reads is refused
  badFile(
    'binary file without an extension',
    'firmware',
    () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]),
    () => /unsupported file type: firmware is .* by its content, which no parser reads; supported formats: /,
  ),
  badFile(
    'text file over the size limit',
    'huge.txt',
    () => Buffer.alloc(MAX_FILE_BYTES + 512 * 1024, 'lorem ipsum '),
    () => `file too large: huge.txt is ${MAX_FILE_BYTES + 512 * 1024} bytes, the limit is ${MAX_FILE_BYTES} bytes. Split the file and upload the parts.`,
  ),
  badFile(
    'PDF over the size limit (ranged reads)',
    'huge.pdf',
    () => Buffer.concat([enc('%PDF-1.7\n'), Buffer.alloc(MAX_FILE_BYTES + 1024, 0x20)]),
    () => `file too large: huge.pdf is ${MAX_FILE_BYTES + 1033} bytes, the limit is ${MAX_FILE_BYTES} bytes. Split the file and upload the parts.`,
  ),
  badFile(
    'encrypted PDF',
    'secret.pdf',
    () => makePdf({ pages: 1, userPassword: 'open-sesame' }),
    () => 'encrypted PDF: secret.pdf needs a password to open; remove the password and upload it again',
  ),
  badFile(
    'truncated PDF',
    'broken.pdf',
    async () => {
      const pdf = await makeTextPdf(3);
      return pdf.subarray(0, Math.floor(pdf.byteLength / 2));
    },
    () => 'corrupt PDF: broken.pdf could not be opened (Invalid PDF structure.); it may be truncated or not a PDF',
  ),
  badFile('empty PDF', 'empty.pdf', () => Buffer.alloc(0), () => 'empty file: empty.pdf has no text'),
  badFile(
    'PDF task past the last page',
    'short.pdf',
    () => makeTextPdf(1),
    // RAGFlow planned 12-page tasks from a page count the file does not have; the second task starts past the end
    () => 'page range past the end: the task starts at page 13 but short.pdf has 1 page',
    { info: { pages: 24 }, task: 1 },
  ),
  badFile('missing object', 'gone.md', () => null, (fed) => `object not found: ${fed.kbId}/gone.md`),
  badFile(
    'document location escaping the storage folder',
    'escape.txt',
    () => enc('harmless text'),
    () => 'object name has a ".." segment: "../../../../etc/passwd"',
    { prepare: (ctx, fed) => ctx.sql('UPDATE document SET location = ? WHERE id = ?', ['../../../../etc/passwd', fed.docId]) },
  ),
];

export const CONTRACT_CASES: BadInputCase[] = [
  injected('tasks: not JSON', tasksSubject, () => '{"v":1,"kind":"task",', 'parser', /^invalid message on \S+\.tasks\.parse: not JSON \(.+\)/),
  injected(
    'tasks: task without its fields',
    tasksSubject,
    (ref) => JSON.stringify({ v: 1, kind: 'task', task: { task_id: ref.task_id }, source: { stream: 's', entry_id: '1-0' } }),
    'parser',
    /^invalid message on \S+\.tasks\.parse: task\.doc_id: Invalid input: expected string, received undefined; /,
  ),
  injected(
    'tasks: future contract version',
    tasksSubject,
    (ref) => JSON.stringify({ v: 2, kind: 'task', task: ref, source: { stream: 's', entry_id: '1-0' } }),
    'parser',
    /^invalid message on \S+\.tasks\.parse: v: Invalid input: expected 1/,
  ),
  injected(
    'tasks: valid message for a task and object that do not exist',
    tasksSubject,
    (ref) =>
      JSON.stringify({
        v: 1,
        kind: 'task',
        task: {
          ...ref,
          task_id: `ghost${ref.task_id.slice(5)}`,
          task_type: '',
          priority: 0,
          retry_count: 1,
          parser_id: 'naive',
          parser_config: {},
          doc_type: 'doc',
          bucket: ref.kb_id,
          location: 'ghost.txt',
          size: 10,
          language: 'English',
          pagerank: 0,
          doc_name: 'ghost.txt',
        },
        source: { stream: 's', entry_id: '1-0' },
      }),
    'parser',
    /^object not found: \w+\/ghost\.txt$/,
    { withTask: false },
  ),
  injected('tasks: garbage without task headers', tasksSubject, () => new Uint8Array([0xff, 0xfe, 0, 1, 2]), 'parser', /^invalid message on \S+\.tasks\.parse: not JSON/, {
    withTask: false,
  }),
  injected(
    'chunks: chunk id that is not an xxh64',
    chunksSubject,
    (ref) => JSON.stringify({ v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [chunk(ref, { id: 'not-a-chunk-id' })] }),
    'embedder',
    /^invalid message on \S+\.chunks\.embed: chunks\.0\.id: chunk id must be 16 hex chars \(xxh64\)$/,
  ),
  injected(
    'chunks: empty batch',
    chunksSubject,
    (ref) => JSON.stringify({ v: 1, kind: 'chunks', task: ref, batch_no: 0, chunks: [] }),
    'embedder',
    /^invalid message on \S+\.chunks\.embed: chunks: Too small: expected array to have >=1 items$/,
  ),
  injected(
    'index: fewer vectors than chunks',
    embeddedSubject,
    (ref) =>
      JSON.stringify({
        v: 1,
        kind: 'embedded',
        task: ref,
        batch_no: 0,
        model: 'ragline-hash-1024',
        tokens: 16,
        chunks: [chunk(ref), chunk(ref, { id: '0123456789abcdef' })],
        vectors: { encoding: 'f32le-base64', dim: 1024, data: [packed(1024)] },
      }),
    'indexer',
    /^invalid message on \S+\.index\.embedded: vectors\.data: vectors\.data must have one entry per chunk$/,
  ),
  injected(
    'index: vector bytes that do not match the declared dimension',
    embeddedSubject,
    (ref) =>
      JSON.stringify({
        v: 1,
        kind: 'embedded',
        task: ref,
        batch_no: 0,
        model: 'ragline-hash-1024',
        tokens: 8,
        chunks: [chunk(ref)],
        vectors: { encoding: 'f32le-base64', dim: 1024, data: [packed(3)] },
      }),
    'indexer',
    /^vector has 3 dims, expected 1024$/,
  ),
  injected(
    'index: manifest with a negative batch count',
    manifestSubject,
    (ref) => JSON.stringify({ v: 1, kind: 'manifest', task: ref, batches: -1, chunks: 0, parse_ms: 1 }),
    'indexer',
    /^invalid message on \S+\.index\.manifest: .*batches: Too small: expected number to be >=0/,
  ),
  injected(
    'events: progress above 1',
    progressSubject,
    (ref) =>
      JSON.stringify({ v: 1, kind: 'progress', task_id: ref.task_id, doc_id: ref.doc_id, at: Date.now(), stage: 'parser', progress: 5, msg: 'x', page_range: null }),
    'monitor',
    /^invalid message on \S+\.events\.progress: progress: Too big: expected number to be <=1$/,
  ),
  injected(
    'events: unknown event kind',
    (ctx) => `${ctx.env.names.subjectPrefix}.events.exploded`,
    (ref) => JSON.stringify({ v: 1, kind: 'exploded', task_id: ref.task_id, doc_id: ref.doc_id, at: Date.now() }),
    'monitor',
    /^invalid message on \S+\.events\.exploded: kind: Invalid discriminator value\. Expected 'progress' \| 'batch_indexed' \| 'completed'$/,
  ),
  injected('events: not JSON, without task headers', progressSubject, () => 'progress=0.5', 'monitor', /^invalid message on \S+\.events\.progress: not JSON/, {
    withTask: false,
  }),
];

/** Dead letters that are themselves invalid: the monitor must log and drop them, not loop on them. */
export const DLQ_CASES = [
  { name: 'dlq: not JSON', body: (): string => 'this is not a dead letter', error: /^invalid message on \S+\.dlq\.parser: not JSON \(.+\)$/ },
  {
    name: 'dlq: dead letter without its error',
    error: /^invalid message on \S+\.dlq\.parser: error: Invalid input: expected object, received undefined$/,
    body: (ref: TaskRef): string =>
      JSON.stringify({ v: 1, kind: 'dead_letter', stage: 'parser', subject: 'x', stream_seq: 1, deliveries: 1, task_id: ref.task_id, doc_id: ref.doc_id, data_b64: '', headers: {}, at: Date.now() }),
  },
];

export interface ConfigCase {
  name: string;
  app: 'ingest-bridge' | 'parser' | 'embedder' | 'indexer' | 'monitor';
  env: Record<string, string>;
  /** YAML written to a file passed as RAGLINE_CONFIG_FILE */
  yaml?: string;
  /** the exit message must match this (it names the key) */
  error: RegExp;
  /** and must not contain these (secret values) */
  secrets?: string[];
}

export const CONFIG_CASES: ConfigCase[] = [
  { name: 'REDIS_URL with an http scheme', app: 'parser', env: { REDIS_URL: 'http://redis:6379' }, error: /invalid configuration: REDIS_URL: must be a redis\/rediss URL \(got "http:\/\/redis:6379"\)/ },
  {
    name: 'NATS_URL pointing at Redis',
    app: 'indexer',
    env: { NATS_URL: 'redis://127.0.0.1:6379' },
    error: /invalid configuration: NATS_URL: must be a comma-separated list of nats:\/\/ or tls:\/\/ server URLs \(or host:port\)/,
  },
  {
    name: 'MYSQL_URL with a password and a bad port',
    app: 'monitor',
    env: { MYSQL_URL: 'mysql://root:hunter2secret@db:port/rag_flow' },
    error: /invalid configuration: MYSQL_URL: must be a mysql URL \(got "mysql:\/\/root:\*\*\*@db:port\/rag_flow"\)/,
    secrets: ['hunter2secret'],
  },
  { name: 'negative PARSER_CONCURRENCY', app: 'parser', env: { PARSER_CONCURRENCY: '-1' }, error: /invalid configuration: PARSER_CONCURRENCY: Too small: expected number to be >=1 \(got "-1"\)/ },
  { name: 'non-numeric NATS_MAX_DELIVER', app: 'embedder', env: { NATS_MAX_DELIVER: 'lots' }, error: /invalid configuration: NATS_MAX_DELIVER: Invalid input: expected number, received NaN \(got "lots"\)/ },
  { name: 'unknown LOG_LEVEL', app: 'monitor', env: { LOG_LEVEL: 'loud' }, error: /invalid configuration: LOG_LEVEL: Invalid option: expected one of .*"info".* \(got "loud"\)/ },
  { name: 'unknown RAGFLOW_QUEUE_NAMING', app: 'ingest-bridge', env: { RAGFLOW_QUEUE_NAMING: 'newest' }, error: /invalid configuration: RAGFLOW_QUEUE_NAMING: Invalid option: expected one of "current"\|"legacy" \(got "newest"\)/ },
  {
    name: 'short MONITOR_TOKEN (value never echoed)',
    app: 'monitor',
    env: { MONITOR_TOKEN: 'tok3n-short' },
    error: /invalid configuration: MONITOR_TOKEN: must be at least 16 characters(;|$|\n)/,
    secrets: ['tok3n-short'],
  },
  { name: 'EMBEDDING_URL without EMBEDDING_MODEL', app: 'embedder', env: { EMBEDDING_URL: 'http://tei:8080' }, error: /invalid configuration: EMBEDDING_MODEL: required when EMBEDDING_URL is set/ },
  {
    name: 'EMBEDDING_BACKENDS entry without a url',
    app: 'embedder',
    env: { EMBEDDING_BACKENDS: JSON.stringify({ 'bge-m3@BAAI': { kind: 'tei' } }) },
    error: /invalid configuration: EMBEDDING_BACKENDS: bge-m3@BAAI\.url: url is required/,
  },
  { name: 'RAGLINE_CONFIG_FILE that does not exist', app: 'indexer', env: { RAGLINE_CONFIG_FILE: '/nonexistent/ragline/service_conf.yaml' }, error: /RAGLINE_CONFIG_FILE: file not found: \/nonexistent\/ragline\/service_conf\.yaml/ },
  { name: 'YAML config file that does not parse', app: 'indexer', env: {}, yaml: 'redis: [unclosed\n  host: x\n', error: /invalid config file \S+\.yaml: / },
  {
    name: 'YAML ragline key with a value out of range',
    app: 'parser',
    env: {},
    yaml: 'ragline:\n  PARSER_MAX_HEAP_MB: 64\n',
    error: /invalid configuration: PARSER_MAX_HEAP_MB: Too small: expected number to be >=128 \(got "64"\)/,
  },
  {
    name: 'YAML mysql section with a bad port (password not echoed)',
    app: 'monitor',
    env: {},
    yaml: 'mysql:\n  host: db\n  port: abc\n  user: root\n  password: yaml-s3cret\n',
    error: /invalid configuration: MYSQL_URL: must be a mysql URL \(got "mysql:\/\/root:\*\*\*@db:abc\/rag_flow"\)/,
    secrets: ['yaml-s3cret'],
  },
];
