import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ParseError } from '../errors.js';
import type { ParseInput } from '../parse.js';
import type { ParsedDocument } from '../types.js';
import { cancelledError } from '../ocr/pages.js';
import type { FromWorker, ParseJob, SerializedError, ToWorker } from './protocol.js';
import { Slots } from './slots.js';

export const DEFAULT_PARSE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_PARSE_MAX_HEAP_MB = 512;
export const DEFAULT_OCR_CONCURRENCY = 2;
/** how long a cancelled parse may take to reach its next page before its worker is killed */
export const DEFAULT_CANCEL_GRACE_MS = 2000;

export interface ParseSandboxOptions {
  /** a parse running longer is stopped (its worker terminated); default 600000 (10 min) */
  timeoutMs?: number;
  /** V8 heap ceiling of a parse worker process in MB (--max-old-space-size); default 512 */
  maxHeapMb?: number;
  /**
   * resident memory ceiling of a worker process in MB, sampled every `sampleMs` (Linux /proc);
   * covers what the heap limit does not (file bytes, decoded streams); default none
   */
  maxRssMb?: number;
  /** how often a busy worker's resident memory is sampled; default 200 ms */
  sampleMs?: number;
  /** idle workers kept for the next parses (a worker is reused until it fails); default 2 */
  maxIdleWorkers?: number;
  /** how long a new worker may take to load the parsers; default 30000 */
  startTimeoutMs?: number;
  /** worker entry script; default dist/sandbox/worker.js of this package */
  workerUrl?: URL;
  /** pages OCR'd at once over all of this sandbox's workers (PARSER_OCR_CONCURRENCY); default 2 */
  ocrConcurrency?: number;
  /** a cancelled parse that has not stopped this long after the cancel (a page mid-OCR) has its worker killed; default 2000 */
  cancelGraceMs?: number;
}

/** The worker died for a reason other than the limits (a crash, a bug): not the document's fault as far as we know. */
export class ParseWorkerError extends Error {
  override readonly name = 'ParseWorkerError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The worker script. From the built package it sits next to this module; when this module runs
 * from its TypeScript source (tests), Node cannot load .ts, so the build output is used.
 */
export function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./worker.js', here);
  const built = new URL('../../dist/sandbox/worker.js', here);
  if (!existsSync(fileURLToPath(built))) {
    throw new ParseWorkerError(`parse sandbox: ${fileURLToPath(built)} is missing; build @ragline/parsing first (pnpm build)`, false);
  }
  return built;
}

function secondsText(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function revive(e: SerializedError): Error {
  if (e.code) return new ParseError(e.code, e.message);
  // errors without a retryable flag count as transient, as everywhere in the pipeline
  return new ParseWorkerError(`${e.name}: ${e.message}`, e.retryable ?? true);
}

interface PooledWorker {
  child: ChildProcess;
  ready: Promise<void>;
  /** last lines of the worker's stderr: V8 prints why it gave up there */
  stderrTail: string[];
}

function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // statm: size resident shared ... in pages; Linux pages are 4 KiB here
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(resident) ? (resident * 4096) / (1024 * 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `parseDocument` in worker processes with a memory ceiling (V8 heap limit, optionally a
 * resident-memory limit) and a time limit per parse. A parse over a limit has its worker killed
 * and fails with a ParseError (`time_limit` / `memory_limit`, not retryable); the sandbox itself
 * keeps working and the next parse gets a fresh worker. A PDF can be parsed from a range reader:
 * the worker asks this process for byte ranges, so the file is never copied whole into it.
 *
 * Processes rather than worker threads: a worker thread that overruns its `resourceLimits` by a
 * large allocation takes the whole process down with a fatal V8 OOM (only 16 MB of leeway), which
 * a parse of a hostile file can trigger; a child process dies alone.
 */
export class ParseSandbox {
  readonly timeoutMs: number;
  readonly maxHeapMb: number;
  readonly maxRssMb: number | undefined;
  private readonly sampleMs: number;
  private readonly maxIdle: number;
  private readonly startTimeoutMs: number;
  private readonly workerUrl: URL | undefined;
  private readonly idle: PooledWorker[] = [];
  private readonly busy = new Set<PooledWorker>();
  private closed = false;
  private peakRss = 0;
  private readonly ocrSlots: Slots;
  private readonly cancelGraceMs: number;

  constructor(opts: ParseSandboxOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
    this.maxHeapMb = opts.maxHeapMb ?? DEFAULT_PARSE_MAX_HEAP_MB;
    this.maxRssMb = opts.maxRssMb;
    this.sampleMs = opts.sampleMs ?? 200;
    this.maxIdle = opts.maxIdleWorkers ?? 2;
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.workerUrl = opts.workerUrl;
    this.ocrSlots = new Slots(opts.ocrConcurrency ?? DEFAULT_OCR_CONCURRENCY);
    this.cancelGraceMs = opts.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!(this.maxHeapMb >= 16)) throw new RangeError(`maxHeapMb must be >= 16, got ${this.maxHeapMb}`);
  }

  /** Worker processes alive now (idle + busy). */
  get workerCount(): number {
    return this.idle.length + this.busy.size;
  }

  /** OCR slots of this sandbox (PARSER_OCR_CONCURRENCY). */
  get ocrConcurrency(): number {
    return this.ocrSlots.size;
  }

  /** Pages being OCR'd now over all workers. */
  get ocrInUse(): number {
    return this.ocrSlots.inUse;
  }

  /** Highest resident memory of a busy worker seen so far, in MB (0 where /proc is missing). */
  get peakWorkerRssMb(): number {
    return Math.round(this.peakRss);
  }

  /**
   * `parseDocument(input)` in a worker process, with the limits. A `source` is read from this
   * process; `input.hooks` hear of every page, and their signal cancels the parse (it stops
   * before the next page, or its worker is killed after `cancelGraceMs`); the worker's OCR waits
   * for this sandbox's OCR slots.
   */
  async parse(input: ParseInput): Promise<ParsedDocument> {
    if (this.closed) throw new ParseWorkerError('parse sandbox is closed', true);
    if (input.hooks?.signal?.aborted) throw cancelledError(input.name);
    const { data, source, hooks: _hooks, ...rest } = input;
    const job: ParseJob = { ...rest, ...(source ? { sourceSize: source.size } : data ? { data } : {}) };
    const pooled = this.idle.pop() ?? this.spawn();
    setRef(pooled.child, true);
    this.busy.add(pooled);
    // a worker that answered (parsed, or reported the document's or the storage's error) is healthy;
    // one that was killed, crashed or never started is not reused
    const answered = { value: false };
    try {
      await pooled.ready;
      return await this.run(pooled, job, input, answered);
    } finally {
      const reusable = answered.value;
      this.busy.delete(pooled);
      if (reusable && !this.closed && this.idle.length < this.maxIdle && pooled.child.exitCode === null) {
        setRef(pooled.child, false);
        this.idle.push(pooled);
      } else {
        pooled.child.kill('SIGKILL');
      }
    }
  }

  /** Kills every worker; parses still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(
      all.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            // an idle worker is unref'd: without this the caller's process could end before the exit arrives
            child.ref();
            child.kill('SIGKILL');
          }),
      ),
    );
  }

  private spawn(): PooledWorker {
    const child = fork(fileURLToPath(this.workerUrl ?? defaultWorkerUrl()), [], {
      execArgv: [`--max-old-space-size=${this.maxHeapMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const stderrTail: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderrTail.push(text);
      if (stderrTail.length > 20) stderrTail.shift();
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new ParseWorkerError(`parse worker did not start within ${secondsText(this.startTimeoutMs)}`, true));
      }, this.startTimeoutMs);
      const onMessage = (msg: FromWorker): void => {
        if (msg.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(new ParseWorkerError(`parse worker exited (${signal ?? `code ${code}`}) while starting: ${stderrTail.join('').trim().slice(-300)}`, true));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage).off('exit', onExit);
      };
      child.on('message', onMessage).on('exit', onExit);
    });
    // an idle worker that dies (it should not) must not be handed out again
    child.on('exit', () => {
      const i = this.idle.findIndex((p) => p.child === child);
      if (i >= 0) this.idle.splice(i, 1);
    });
    child.on('error', () => {}); // failures show up as 'exit'
    ready.catch(() => {});
    return { child, ready, stderrTail };
  }

  private memoryLimit(limitMb: number): ParseError {
    return new ParseError('memory_limit', `parsing exceeded the memory limit of ${limitMb} MB`);
  }

  private run(pooled: PooledWorker, job: ParseJob, input: ParseInput, answered: { value: boolean }): Promise<ParsedDocument> {
    const { child } = pooled;
    const hooks = input.hooks;
    return new Promise<ParsedDocument>((resolve, reject) => {
      let readFailure: unknown;
      let settled = false;
      // OCR slots this parse holds or waits for, by the worker's request id: all given back when it ends, however it ends
      const slots = new Map<number, { release?: () => void; cancel: () => void }>();
      let cancelTimer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(cancelTimer);
        clearInterval(sampler);
        child.off('message', onMessage).off('close', onClose);
        hooks?.signal?.removeEventListener('abort', onAbort);
        for (const slot of slots.values()) {
          slot.cancel();
          slot.release?.();
        }
        slots.clear();
        fn();
      };
      const onAbort = (): void => {
        if (cancelTimer !== undefined) return;
        if (child.connected) child.send({ type: 'cancel' } satisfies ToWorker);
        cancelTimer = setTimeout(() => {
          finish(() => reject(cancelledError(input.name)));
          child.kill('SIGKILL');
        }, this.cancelGraceMs);
      };
      hooks?.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        finish(() => reject(new ParseError('time_limit', `parsing exceeded the ${secondsText(this.timeoutMs)} time limit`)));
        child.kill('SIGKILL');
      }, this.timeoutMs);
      const sampler = setInterval(() => {
        const rss = rssMb(child.pid);
        if (rss === undefined) return;
        this.peakRss = Math.max(this.peakRss, rss);
        if (this.maxRssMb !== undefined && rss > this.maxRssMb) {
          finish(() => reject(this.memoryLimit(this.maxRssMb!)));
          child.kill('SIGKILL');
        }
      }, this.sampleMs);
      const onMessage = (msg: FromWorker): void => {
        switch (msg.type) {
          case 'read':
            this.serveRead(child, input, msg.reqId, msg.offset, msg.length).catch((err: unknown) => {
              readFailure ??= err;
            });
            return;
          case 'page':
            hooks?.onPage?.(msg.progress);
            return;
          case 'ocr-slot': {
            const request = this.ocrSlots.acquire();
            const slot: { release?: () => void; cancel: () => void } = { cancel: request.cancel };
            slots.set(msg.reqId, slot);
            void request.granted.then((release) => {
              // the parse ended while this request waited: the slot goes straight back
              if (settled || !slots.has(msg.reqId)) return release();
              slot.release = release;
              if (child.connected) child.send({ type: 'ocr-granted', reqId: msg.reqId } satisfies ToWorker);
            });
            return;
          }
          case 'ocr-release':
            slots.get(msg.reqId)?.release?.();
            slots.delete(msg.reqId);
            return;
          case 'done':
            answered.value = true;
            finish(() => resolve(msg.doc));
            return;
          case 'failed':
            answered.value = true;
            // a storage failure surfaces as itself, so its retryability is kept
            finish(() => reject(readFailure ?? revive(msg.error)));
            return;
          default:
            return;
        }
      };
      // 'close' comes after the worker's stderr is drained, so V8's last words are in the tail
      const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
        const why = pooled.stderrTail.join('');
        if (/heap out of memory|Reached heap limit|ERR_WORKER_OUT_OF_MEMORY/i.test(why)) {
          finish(() => reject(this.memoryLimit(this.maxHeapMb)));
        } else {
          finish(() => reject(new ParseWorkerError(`parse worker exited (${signal ?? `code ${code}`}): ${why.trim().slice(-300)}`, true)));
        }
      };
      child.on('message', onMessage).on('close', onClose);
      const msg: ToWorker = { type: 'parse', job };
      child.send(msg);
      // aborted while the worker was starting: the job went out, and the cancel after it stops it at its first check
      if (hooks?.signal?.aborted) onAbort();
    });
  }

  private async serveRead(child: ChildProcess, input: ParseInput, reqId: number, offset: number, length: number): Promise<void> {
    try {
      const data = await input.source!.read(offset, length);
      const msg: ToWorker = { type: 'range', reqId, data };
      if (child.connected) child.send(msg);
    } catch (err) {
      const msg: ToWorker = { type: 'range', reqId, error: err instanceof Error ? err.message : String(err) };
      if (child.connected) child.send(msg);
      throw err;
    }
  }
}

/** An idle worker must not keep the parent's event loop alive. */
function setRef(child: ChildProcess, on: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
  if (on) {
    child.ref();
    channel?.ref?.();
  } else {
    child.unref();
    channel?.unref?.();
  }
}
