import { ParseError } from '../errors.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk } from '../types.js';
import type { ChunkMethodModule } from './method.js';

/**
 * RAGFlow chunking methods Ragline cannot run: the task fails with a message saying why, rather
 * than chunking the file with another method the knowledge base did not ask for.
 */
function unavailable(id: string, why: string): ChunkMethodModule {
  const fail = (named: FormatParser): FormatParser => ({
    id: named.id,
    extensions: named.extensions,
    paged: named.paged,
    parse(input: FormatInput): Promise<never> {
      return Promise.reject(unavailableError(id, why, input.name));
    },
  });
  return {
    id,
    readsFormat: () => true,
    formatFor: fail,
    chunk(): MergedChunk[] {
      throw new ParseError('unsupported_format', `parser '${id}' is not available in Ragline: ${why}`);
    },
  };
}

/**
 * rag/app/resume.py: the resume's fields (name, education, work history, ... into some seventy
 * *_kwd / *_tks / *_int fields) are extracted by the tenant's chat model from line-numbered text,
 * PDF lines ordered by a YOLOv10 layout model, and RAGFlow refuses the method unless the document
 * store is Elasticsearch.
 */
export const resumeMethod = unavailable(
  'resume',
  "RAGFlow's resume method extracts the resume's fields with the tenant's chat model (and orders PDF text with its YOLOv10 layout model), which the parser stage does not call",
);

function unavailableError(id: string, why: string, name: string): ParseError {
  return new ParseError('unsupported_format', `parser '${id}' is not available in Ragline: ${why}. Choose another chunking method for ${name}.`);
}

const AUDIO_WHY =
  "RAGFlow's audio method transcribes the file with the tenant's speech-to-text (ASR) model, which Ragline does not call, and no speech-to-text model ships with it";

/** rag/app/audio.py: the text is the transcript of the tenant's speech-to-text (ASR) model; no ASR model ships in an npm package. */
export const audioMethod = unavailable('audio', AUDIO_WHY);

/** The audio method's failure for an audio file, which no format parser reads (see parseDocument). */
export const audioUnavailableError = (name: string): ParseError => unavailableError('audio', AUDIO_WHY, name);
