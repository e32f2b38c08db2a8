import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParseError, chunkDocument, parseDocument, planParser } from '../src/index.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

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
    // an audio file itself is no format Ragline reads: refused by type before any method
    const mp3 = await failure(parseDocument({ name: 'talk.mp3', data: new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0]), parserId: 'audio' }));
    expect(mp3.code).toBe('unsupported_format');
  });

  it('refuse to chunk a document parsed some other way', () => {
    expect(() => chunkDocument({ sections: [{ text: 'x' }], format: 'text', notes: [], method: 'resume' })).toThrow(ParseError);
  });
});
