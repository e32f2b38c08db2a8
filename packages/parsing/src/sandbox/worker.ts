// Entry of a parse worker process: parses one job at a time for the ParseSandbox in the parent process.
import { countTokens } from '@ragline/tokenizer';
import { ParseError } from '../errors.js';
import type { ByteSource } from '../byte-source.js';
import { parseDocument, type ParseInput } from '../parse.js';
import type { FromWorker, ParseJob, SerializedError, ToWorker } from './protocol.js';

const send0 = process.send?.bind(process);
if (!send0) throw new Error('sandbox/worker.js runs in a process started by ParseSandbox (it needs an IPC channel)');

let nextReq = 0;
const pendingReads = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
const pendingSlots = new Map<number, () => void>();
/** the running job's cancel switch */
let cancel: AbortController | undefined;

function send(msg: FromWorker): void {
  send0!(msg);
}

/** File bytes fetched from the parent, which holds the object store. */
function remoteSource(size: number): ByteSource {
  return {
    size,
    read(offset, length) {
      const reqId = nextReq++;
      return new Promise<Uint8Array>((resolve, reject) => {
        pendingReads.set(reqId, { resolve, reject });
        send({ type: 'read', reqId, offset, length });
      });
    },
  };
}

/** One of the parent's OCR slots: asked for, granted, given back with `ocr-release`. */
function ocrSlot(): Promise<() => void> {
  const reqId = nextReq++;
  return new Promise<() => void>((resolve) => {
    pendingSlots.set(reqId, () => resolve(() => send({ type: 'ocr-release', reqId })));
    send({ type: 'ocr-slot', reqId });
  });
}

function serialize(err: unknown): SerializedError {
  if (err instanceof ParseError) return { name: err.name, message: err.message, code: err.code, retryable: false };
  const e = err instanceof Error ? err : new Error(String(err));
  const retryable = 'retryable' in e ? Boolean((e as { retryable: unknown }).retryable) : undefined;
  return { name: e.name, message: e.message, ...(retryable === undefined ? {} : { retryable }) };
}

async function run(job: ParseJob): Promise<void> {
  const { data, sourceSize, ...rest } = job;
  const input: ParseInput = { ...rest };
  if (data) input.data = data;
  if (sourceSize !== undefined) input.source = remoteSource(sourceSize);
  cancel = new AbortController();
  input.hooks = { signal: cancel.signal, onPage: (progress) => send({ type: 'page', progress }), ocrSlot };
  try {
    const doc = await parseDocument(input);
    send({ type: 'done', doc });
  } catch (err) {
    send({ type: 'failed', error: serialize(err) });
  }
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'parse') {
    void run(msg.job);
  } else if (msg.type === 'cancel') {
    cancel?.abort();
  } else if (msg.type === 'ocr-granted') {
    const grant = pendingSlots.get(msg.reqId);
    pendingSlots.delete(msg.reqId);
    grant?.();
  } else if (msg.type === 'range') {
    const pending = pendingReads.get(msg.reqId);
    pendingReads.delete(msg.reqId);
    if (!pending) return;
    if (msg.error !== undefined || !msg.data) pending.reject(new Error(msg.error ?? 'read failed'));
    else pending.resolve(msg.data);
  }
});
// the tokenizer's tables load on first use: load them now, so a parse's time limit covers parsing only
countTokens('warm up');
// the parent going away (crash, SIGKILL) closes the channel: nothing is left to parse for
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
