import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParseError, chunkDocument, parseDocument, planParser } from '../src/index.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** A real (tiny) PCM WAV file: RIFF header, fmt chunk, 100 ms of 8 kHz mono silence. */
function wav(): Uint8Array {
  const samples = 800;
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(8000, 24);
  buf.writeUInt32LE(16000, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples * 2, 40);
  return new Uint8Array(buf);
}

async function failure(p: Promise<unknown>): Promise<ParseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParseError);
  return err as ParseError;
}

// resume and audio need models Ragline does not call (chat model / layout model; speech-to-text):
// the task fails with why instead of being chunked by a method nobody asked for.
describe('resume and audio', () => {
  it('take every format, so that no file falls back to naive under them', () => {
    for (const id of ['resume', 'audio']) for (const f of ['pdf', 'docx', 'text']) expect(planParser(id, f)).toEqual({ method: id });
  });

  it('fail a resume, as PDF or DOCX, with a message naming the chat and layout models', async () => {
    for (const file of ['methods/paper.pdf', 'methods/manual.docx']) {
      const name = file.split('/')[1]!;
      const err = await failure(parseDocument({ name, data: new Uint8Array(readFileSync(here(`./fixtures/${file}`))), parserId: 'resume' }));
      expect(err.code).toBe('unsupported_format');
      expect(err.message).toContain("parser 'resume' is not available in Ragline");
      expect(err.message).toContain('chat model');
      expect(err.message).toContain(name);
    }
  });

  it('fail audio with a message naming the speech-to-text model', async () => {
    const err = await failure(parseDocument({ name: 'notes.txt', data: new TextEncoder().encode('spoken words'), parserId: 'audio' }));
    expect(err.code).toBe('unsupported_format');
    expect(err.message).toContain('speech-to-text (ASR) model');
  });

  it('fail a real audio file under audio or naive with the speech-to-text message, not as an unknown type', async () => {
    const mp3 = new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64, ...new Uint8Array(400)]);
    for (const [name, data, parserId] of [
      ['talk.mp3', mp3, 'audio'],
      ['talk.mp3', mp3, 'naive'],
      ['memo.wav', wav(), undefined],
      ['voice.M4A', new Uint8Array(64), 'General'],
      // misnamed: the bytes say audio
      ['recording.bin', wav(), 'naive'],
      ['recording', mp3, 'audio'],
    ] as const) {
      const err = await failure(parseDocument({ name, data, ...(parserId && { parserId }) }));
      expect(err.code, name).toBe('unsupported_format');
      expect(err.message, name).toContain("parser 'audio' is not available in Ragline");
      expect(err.message, name).toContain('speech-to-text (ASR) model');
      expect(err.message, name).toContain(name);
    }
  });

  it('keeps the unknown-type message for an audio file under a method that never reads audio, and for other unknown types', async () => {
    const qa = await failure(parseDocument({ name: 'memo.wav', data: wav(), parserId: 'qa' }));
    expect(qa.message).toMatch(/^unsupported file type: memo\.wav/);
    const other = await failure(parseDocument({ name: 'blob.xyz', data: new Uint8Array([1, 2, 3, 0, 0, 0]), parserId: 'naive' }));
    expect(other.message).toMatch(/^unsupported file type: blob\.xyz/);
    expect(other.message).not.toContain('speech-to-text');
  });

  it('refuse to chunk a document parsed some other way', () => {
    expect(() => chunkDocument({ sections: [{ text: 'x' }], format: 'text', notes: [], method: 'resume' })).toThrow(ParseError);
  });
});
