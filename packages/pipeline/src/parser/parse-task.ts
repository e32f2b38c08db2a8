import type { DeliveryContext, Publisher } from '@ragline/bus';
import { ChunkBatch, ParentBatch, ParentChunk, TaskManifest, enrichSpecFor, msgIds, type ChunkInput, type TaskContext, type TaskMessage, type TaskRef, type TopologyNames } from '@ragline/contracts';
import {
  DEFAULT_OCR_CONCURRENCY,
  DEFAULT_PARSE_MAX_HEAP_MB,
  ParseError,
  DEFAULT_PARSE_TIMEOUT_MS,
  ParseSandbox,
  SNIFF_BYTES,
  buildChunks,
  chunkDocument,
  fileTooLargeError,
  initHashing,
  parentRecords,
  sniffFormat,
  type ByteSource,
  type PageProgress,
  type ParseInput,
} from '@ragline/parsing';
import { ObjectTooLargeError, type ObjectStore } from '@ragline/storage';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import { splitBatches, jsonBytes } from '../runtime/batches.js';
import type { CancelCheck } from '../runtime/cancel.js';
import { PROGRESS, type ProgressReporter } from '../runtime/progress.js';

export interface ParseLimits {
  /** RAGFlow's DOC_MAXIMUM_SIZE; default 128 MiB */
  maxFileBytes: number;
  /** chunks per batch message; default 32 */
  batchChunks: number;
  /** serialised chunk bytes per batch; leaves room for vectors added by the embedder */
  batchBytes: number;
  /** a parse running longer fails the task (PARSER_TIMEOUT_MS); default 600000 (10 min) */
  parseTimeoutMs: number;
  /** heap ceiling of a parse worker process in MB (PARSER_MAX_HEAP_MB); default 512 */
  parseMaxHeapMb: number;
  /** pages OCR'd at once over the replica's parse workers (PARSER_OCR_CONCURRENCY); default 2 */
  ocrConcurrency: number;
  /** how often the cancel flag is read while a task is being parsed; default 1000 ms */
  cancelPollMs: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxFileBytes: 128 * 1024 * 1024,
  batchChunks: 32,
  batchBytes: 256 * 1024,
  parseTimeoutMs: DEFAULT_PARSE_TIMEOUT_MS,
  parseMaxHeapMb: DEFAULT_PARSE_MAX_HEAP_MB,
  ocrConcurrency: DEFAULT_OCR_CONCURRENCY,
  cancelPollMs: 1000,
};

export interface ParseStageDeps {
  store: ObjectStore;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: CancelCheck;
  progress: ProgressReporter;
  logger: Logger;
  tracer: Tracer;
  limits?: Partial<ParseLimits>;
  /** where documents are parsed; default a ParseSandbox with the limits' time and heap ceilings */
  sandbox?: ParseSandbox;
}

export function taskRef(task: TaskContext): TaskRef {
  const w = task.parser_config.filename_embd_weight;
  return {
    task_id: task.task_id,
    doc_id: task.doc_id,
    kb_id: task.kb_id,
    tenant_id: task.tenant_id,
    embd_id: task.embd_id,
    doc_name: task.doc_name,
    from_page: task.from_page,
    to_page: task.to_page,
    received_at: task.received_at,
    ...(typeof w === 'number' ? { filename_embd_weight: w } : {}),
  };
}

/**
 * Parser stage: fetch the document, parse the task's page/row range, chunk it the way RAGFlow's
 * naive method does, publish chunk batches (to the enricher, with the task's EnrichSpec when it asks
 * for LLM work) with deterministic ids, then the manifest that tells the indexer how many batches
 * make the task complete.
 */
export function createParseHandler(deps: ParseStageDeps) {
  const limits = { ...DEFAULT_PARSE_LIMITS, ...deps.limits };
  const ready = initHashing();
  const sandbox =
    deps.sandbox ?? new ParseSandbox({ timeoutMs: limits.parseTimeoutMs, maxHeapMb: limits.parseMaxHeapMb, ocrConcurrency: limits.ocrConcurrency });
  return async function handleTask(msg: TaskMessage, ctx: DeliveryContext): Promise<void> {
    await ready;
    const task = msg.task;
    const log = deps.logger.child({ task_id: task.task_id, doc_id: task.doc_id });
    ctx.span.setAttributes({ ...taskAttributes(task), [ATTR.pageFrom]: task.from_page, [ATTR.pageTo]: task.to_page });
    if (await deps.isCancelled(task.task_id)) {
      await deps.progress.report(task, 'Task has been cancelled. [Canceled]', -1, { key: 'cancelled' });
      log.info('cancelled before parsing');
      return;
    }
    const started = Date.now();
    await deps.progress.report(task, 'Start to parse.', PROGRESS.parseStart, { pageRange: true, key: `start.${ctx.deliveryCount}` });

    // a PDF task reads only the byte ranges its pages need; other formats need the whole file
    const file = await withSpan(deps.tracer, 'fetch object', { attributes: { 'ragline.object.bucket': task.bucket } }, async (span) => {
      const { size } = await deps.store.stat(task.bucket, task.location);
      if (size > limits.maxFileBytes) throw fileTooLargeError(task.doc_name, size, limits.maxFileBytes);
      // the first bytes say whether it is a PDF, whatever its name (a PDF named .txt, or no extension)
      const head = size > 0 ? await deps.store.getRange(task.bucket, task.location, 0, Math.min(size, SNIFF_BYTES)) : new Uint8Array(0);
      const { format } = await sniffFormat(task.doc_name, head, { size });
      if (format?.readsRanges) {
        span.setAttributes({ 'ragline.object.bytes': size, 'ragline.object.ranged': true });
        const source: ByteSource = {
          size,
          read: async (offset, length) => {
            const bytes = await deps.store.getRange(task.bucket, task.location, offset, length);
            ctx.working();
            return bytes;
          },
        };
        return { source } satisfies Partial<ParseInput>;
      }
      try {
        const data = await deps.store.get(task.bucket, task.location, { maxBytes: limits.maxFileBytes });
        span.setAttribute('ragline.object.bytes', data.byteLength);
        return { data } satisfies Partial<ParseInput>;
      } catch (e) {
        // the user knows the file by its name, not by its storage key: same message as a parse-time size check
        if (e instanceof ObjectTooLargeError) throw fileTooLargeError(task.doc_name, e.size, e.maxBytes);
        throw e;
      }
    });
    ctx.working();

    // an OCR'd page takes seconds: the cancel flag is read while the parse runs, which stops before its next page
    const cancel = new AbortController();
    const poll = setInterval(() => {
      deps.isCancelled(task.task_id).then(
        (yes) => yes && cancel.abort(),
        () => {},
      );
    }, limits.cancelPollMs);
    const onPage = (p: PageProgress): void => {
      ctx.working();
      if (!p.ocr) return;
      const progress = PROGRESS.parseStart + ((PROGRESS.parseDone - PROGRESS.parseStart) * p.done) / p.total;
      deps.progress
        .report(task, `OCR: page ${p.page + 1} (${p.done} of ${p.total}).`, Number(progress.toFixed(3)), { pageRange: true, key: `ocr.${ctx.deliveryCount}.${p.page}` })
        .catch((err: unknown) => log.warn({ err }, 'page progress not published'));
    };
    const parsed = await withSpan(deps.tracer, 'parse and chunk', {}, async (span) => {
      let doc;
      try {
        doc = await sandbox.parse({
          name: task.doc_name,
          ...file,
          parserId: task.parser_id,
          parserConfig: task.parser_config,
          fromPage: task.from_page,
          toPage: task.to_page,
          maxBytes: limits.maxFileBytes,
          hooks: { signal: cancel.signal, onPage },
        });
      } catch (err) {
        if (err instanceof ParseError && err.code === 'cancelled') return undefined;
        throw err;
      } finally {
        clearInterval(poll);
      }
      // chunk mode from the parser plan: naive merge, one chunk per table row, the whole document, or a
      // method of its own; methods read the knowledge base language as RAGFlow passes `lang` (qa's prefixes)
      const merged = chunkDocument(doc, { language: task.language, ...task.parser_config });
      const built = buildChunks(
        // parser_id: naive (and knowledge_graph) cut chunks into children on children_delimiter
        { doc_id: task.doc_id, kb_id: task.kb_id, doc_name: task.doc_name, parser_id: task.parser_id, parser_config: task.parser_config, pagerank: task.pagerank },
        merged,
      );
      span.setAttributes({ [ATTR.chunkCount]: built.length, 'ragline.sections': doc.sections.length });
      for (const note of doc.notes) await deps.progress.report(task, note, null, { pageRange: true, key: `note.${note.slice(0, 40)}` });
      return built;
    });
    ctx.working();
    if (parsed === undefined) {
      await deps.progress.report(task, 'Task has been cancelled. [Canceled]', -1, { key: 'cancelled' });
      log.info('cancelled while parsing');
      return;
    }
    const chunks = parsed;

    if (await deps.isCancelled(task.task_id)) {
      await deps.progress.report(task, 'Task has been cancelled. [Canceled]', -1, { key: 'cancelled' });
      return;
    }

    const ref = taskRef(task);
    // every batch goes through the enricher; it passes one without `enrich` straight on to the embedder
    const enrich = enrichSpecFor(task);
    const batches = splitBatches<ChunkInput>(chunks, limits.batchChunks, limits.batchBytes, jsonBytes);
    // children's parent records go straight to the indexer (nothing to enrich or embed), numbered
    // after the chunk batches and counted in the manifest, so completion waits for them too
    const parentBatches = splitBatches(parentRecords(chunks).map((p) => ParentChunk.parse(p)), limits.batchChunks, limits.batchBytes, jsonBytes);
    await withSpan(deps.tracer, 'publish chunk batches', { attributes: { 'ragline.batch.count': batches.length } }, async () => {
      for (const [batchNo, batch] of batches.entries()) {
        await deps.publisher.publish(
          deps.names.subjects.enrich,
          ChunkBatch,
          { v: 1, kind: 'chunks', task: ref, batch_no: batchNo, chunks: batch, ...(enrich && { enrich, batches: batches.length }) },
          { msgID: msgIds.enrichBatch(ref, batchNo), taskId: task.task_id, docId: task.doc_id },
        );
        ctx.working();
      }
      for (const [i, parents] of parentBatches.entries()) {
        const batchNo = batches.length + i;
        await deps.publisher.publish(
          deps.names.subjects.parents,
          ParentBatch,
          { v: 1, kind: 'parents', task: ref, batch_no: batchNo, parents },
          { msgID: msgIds.parentBatch(ref, batchNo), taskId: task.task_id, docId: task.doc_id },
        );
        ctx.working();
      }
      await deps.publisher.publish(
        deps.names.subjects.manifest,
        TaskManifest,
        { v: 1, kind: 'manifest', task: ref, batches: batches.length + parentBatches.length, chunks: chunks.length, parse_ms: Date.now() - started },
        { msgID: msgIds.manifest(ref), taskId: task.task_id, docId: task.doc_id },
      );
    });
    const secs = ((Date.now() - started) / 1000).toFixed(2);
    const msgText = chunks.length
      ? `Finish parsing: ${chunks.length} chunks in ${batches.length} batches (${secs}s).`
      : `No chunk built from ${task.doc_name}.`;
    await deps.progress.report(task, msgText, PROGRESS.parseDone, { pageRange: true, key: 'parsed' });
    log.info({ chunks: chunks.length, batches: batches.length, took_s: Number(secs) }, 'parsed');
  };
}

