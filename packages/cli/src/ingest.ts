import { open, readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ragflowQueueName } from '@ragline/contracts';
import { SNIFF_BYTES, pdfPageCount, sniffFormat, tableRowCount, unsupportedFormatError, type FormatParser } from '@ragline/parsing';
import type { RagflowQueueProducer } from '@ragline/redis-queue';
import type { ObjectStore } from '@ragline/storage';
import type { TaskDb } from '@ragline/taskdb';
import cliProgress from 'cli-progress';
import type { Redis } from 'ioredis';

const PDF = new Set(['pdf']);
const VISUAL = new Set(['jpg', 'jpeg', 'png', 'tif', 'gif', 'pcx', 'tga', 'exif', 'fpx', 'svg', 'psd', 'cdr', 'pcd', 'dxf', 'ufo', 'eps', 'ai', 'raw', 'wmf', 'webp', 'avif', 'apng', 'icon', 'ico']);
const AURAL = new Set(['wav', 'flac', 'ape', 'alac', 'wavpack', 'wv', 'mp3', 'aac', 'ogg', 'vorbis', 'opus']);
const TABLE = new Set(['csv', 'tsv', 'xlsx', 'xls']);

/**
 * The parser a file gets when it is uploaded: RAGFlow's FileService.get_parser gives slides the
 * presentation method, mail the email method and images the picture method whatever the knowledge base's parser; Ragline also
 * reads spreadsheets row by row. `sniffed` is the format id when the bytes, not the name, chose it.
 */
export function parserForUpload(ext: string, sniffed: string | undefined, kbParser: string): string {
  if (TABLE.has(ext) || sniffed === 'table') return 'table';
  if (['ppt', 'pptx', 'pages'].includes(ext) || sniffed === 'pptx') return 'presentation';
  if (['msg', 'eml'].includes(ext) || sniffed === 'eml') return 'email';
  // RAGFlow: a VISUAL file gets picture (OCR'd); a BMP is an image Ragline reads too
  if (VISUAL.has(ext) || ext === 'bmp' || sniffed === 'image') return 'picture';
  return kbParser;
}

/** RAGFlow's document.type for a file name (api/utils/file_utils.filename_type). */
export function documentType(name: string): 'pdf' | 'doc' | 'visual' | 'aural' {
  const ext = extname(name).slice(1).toLowerCase();
  if (PDF.has(ext)) return 'pdf';
  if (VISUAL.has(ext)) return 'visual';
  if (AURAL.has(ext)) return 'aural';
  return 'doc';
}

/**
 * What RAGFlow's queue_tasks needs to split a document: the page count of a PDF, the row count of
 * a file for the table parser. `formatId` is the format its bytes were found to be (a PDF named .txt
 * is split by pages); without it the name decides. A file that cannot be counted (encrypted, corrupt, empty) still gets
 * one task, so the parser reports the reason on it instead of the document never starting.
 */
export async function splitInfo(name: string, data: Uint8Array, parserId: string, formatId?: string): Promise<{ pages?: number; rows?: number }> {
  const counted = async (count: () => Promise<number>): Promise<number> => {
    try {
      return Math.max(1, await count());
    } catch {
      // ParseError or a library's own complaint about the bytes: the parse stage will say which
      return 1;
    }
  };
  if ((formatId ?? documentType(name)) === 'pdf') return { pages: await counted(() => pdfPageCount(data, { name })) };
  if (parserId === 'table') return { rows: await counted(() => tableRowCount(name, data)) };
  return {};
}

/** A file `checkFiles` accepted: the format the parser will read it in, and whether its bytes chose it. */
export interface CheckedFile {
  file: string;
  name: string;
  format: FormatParser;
  by: 'extension' | 'content';
}

export interface RefusedFile {
  file: string;
  reason: string;
}

/** Some files of an ingest are not readable by any parser; none of the invocation's files was stored. */
export class IngestRefusedError extends Error {
  override readonly name = 'IngestRefusedError';
  constructor(readonly refused: readonly RefusedFile[]) {
    super(
      `refused ${refused.length} file${refused.length === 1 ? '' : 's'}, so nothing was stored or enqueued:\n` +
        refused.map((r) => `  ${r.file}: ${r.reason}`).join('\n'),
    );
    // the CLI prints an error's stack; for this one the message is the whole story
    this.stack = this.message;
  }
}

async function readHead(file: string, size: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, SNIFF_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.byteLength, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The format of every file from its name and first bytes (`sniffFormat`), before anything is
 * stored: throws IngestRefusedError listing each file no parser reads (a PNG, a plain zip, an
 * extension no parser knows, a folder), so that one bad file does not leave the others half-queued.
 */
export async function checkFiles(files: readonly string[]): Promise<CheckedFile[]> {
  const checked: CheckedFile[] = [];
  const refused: RefusedFile[] = [];
  for (const file of files) {
    const name = basename(file);
    const info = await stat(file);
    if (!info.isFile()) {
      refused.push({ file, reason: `not a file${info.isDirectory() ? ' but a folder: name the files in it' : ''}` });
      continue;
    }
    const head = await readHead(file, info.size);
    let choice = await sniffFormat(name, head, { size: info.size });
    // whether a zip is a DOCX/XLSX can take more than its first bytes to tell
    if (!choice.format && choice.content.kind === 'binary' && choice.content.ext === 'zip' && info.size > head.byteLength) {
      choice = await sniffFormat(name, await readFile(file), { size: info.size });
    }
    if (choice.format) checked.push({ file, name, format: choice.format, by: choice.by });
    else refused.push({ file, reason: unsupportedFormatError(name, choice).message });
  }
  if (refused.length) throw new IngestRefusedError(refused);
  return checked;
}

export interface IngestDeps {
  taskdb: TaskDb;
  store: ObjectStore;
  producer: RagflowQueueProducer;
  redis: Redis;
  queueNaming: 'current' | 'legacy';
  embdId: string;
}

export interface IngestedDocument {
  docId: string;
  name: string;
  kbId: string;
  tasks: string[];
}

/**
 * Does what RAGFlow's API server does when a user uploads and parses documents: store the file
 * (bucket = kb id, object = location), write document and task rows, mark the document queued, and
 * XADD one message per task to the priority-0 stream. Every file is checked first (`checkFiles`):
 * if any is refused, nothing is stored and the IngestRefusedError says which and why.
 */
export async function ingestFiles(
  deps: IngestDeps,
  files: string[],
  opts: { kb: string; parserId?: string; kbParserConfig?: Record<string, unknown> },
): Promise<IngestedDocument[]> {
  const checked = await checkFiles(files);
  await deps.taskdb.migrate();
  const tenantId = await deps.taskdb.ensureTenant({ name: 'ragline', embdId: deps.embdId });
  const kb = await deps.taskdb.ensureKnowledgebase({ name: opts.kb, tenantId, embdId: deps.embdId, parserConfig: opts.kbParserConfig });
  const out: IngestedDocument[] = [];
  for (const { file, name, format, by } of checked) {
    const data = await readFile(file);
    const ext = extname(name).slice(1).toLowerCase();
    const location = await deps.store.uniqueName(kb.id, name);
    await deps.store.put(kb.id, location, data);
    // a file whose bytes chose its format (no extension, or a misleading one) is typed by them
    const byBytes = by === 'content';
    const parserId = opts.parserId ?? parserForUpload(ext, byBytes ? format.id : undefined, kb.parser_id);
    const doc = await deps.taskdb.createDocument({
      kbId: kb.id,
      name,
      location,
      size: data.byteLength,
      type: byBytes && format.id === 'pdf' ? 'pdf' : documentType(name),
      suffix: ext,
      parserId,
      parserConfig: kb.parser_config,
    });
    const tasks = await deps.taskdb.queueDocument(doc.id, await splitInfo(name, data, parserId, byBytes ? format.id : undefined));
    if (tasks.length) {
      await deps.redis.set(`doc:chunking_pending:${doc.id}`, String(tasks.length), 'EX', 7 * 24 * 3600);
      await deps.redis.del(`doc:chunking_aborted:${doc.id}`);
    }
    for (const t of tasks) await deps.producer.enqueue(ragflowQueueName(0, deps.queueNaming), { ...t });
    out.push({ docId: doc.id, name, kbId: kb.id, tasks: tasks.map((t) => String(t.id)) });
  }
  return out;
}

export interface WaitResult {
  docId: string;
  name: string;
  state: 'done' | 'failed' | 'cancelled';
  progress: number;
  message: string;
  chunks: number;
}

/** Waits until every document is done, failed or cancelled, showing a progress bar per document. */
export async function waitForDocuments(
  taskdb: TaskDb,
  docs: IngestedDocument[],
  opts: { timeoutMs?: number; out?: NodeJS.WriteStream } = {},
): Promise<WaitResult[]> {
  const out = opts.out ?? process.stderr;
  const tty = Boolean(out.isTTY);
  const multibar = tty
    ? new cliProgress.MultiBar(
        { format: ' {bar} {percentage}% | {name} | {status}', hideCursor: true, clearOnComplete: false, stream: out },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bars = new Map(docs.map((d) => [d.docId, multibar?.create(100, 0, { name: d.name, status: 'queued' })]));
  const lastPrinted = new Map<string, string>();
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  const results = new Map<string, WaitResult>();
  try {
    while (results.size < docs.length) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${docs.length - results.size} document(s)`);
      const rows = await taskdb.documentProgress(docs.map((d) => d.docId));
      for (const row of rows) {
        const doc = docs.find((d) => d.docId === row.id)!;
        if (results.has(row.id)) continue;
        const pct = Math.max(0, Math.round(Number(row.progress) * 100));
        const lastLine = String(row.progress_msg ?? '').trim().split('\n').pop() ?? '';
        const state = row.run === '3' ? 'done' : row.run === '4' ? 'failed' : row.run === '2' ? 'cancelled' : undefined;
        bars.get(row.id)?.update(state === 'failed' ? 0 : pct, { status: state ?? lastLine.slice(0, 60) });
        const line = `${doc.name}: ${pct}% ${lastLine}`;
        if (!tty && lastPrinted.get(row.id) !== line) {
          out.write(line + '\n');
          lastPrinted.set(row.id, line);
        }
        if (state) {
          results.set(row.id, { docId: row.id, name: doc.name, state, progress: Number(row.progress), message: String(row.progress_msg ?? ''), chunks: Number(row.chunk_num) });
        }
      }
      if (results.size < docs.length) await sleep(300);
    }
  } finally {
    multibar?.stop();
  }
  return docs.map((d) => results.get(d.docId)!);
}
