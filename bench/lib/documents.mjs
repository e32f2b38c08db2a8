// Deterministic bench documents: small files of mixed formats and text PDFs made with pdfkit, plus
// the chunk ids the pipeline must end up with (parsed and chunked here, in-process, with the same
// parsing package and parser config), so a run can prove it lost nothing.
import { createHash } from 'node:crypto';
import { pkg } from './environment.mjs';
import { makePdf, words } from './pdf.mjs';

export { makePdf };

const parsing = await pkg('parsing');

const FORMATS = ['md', 'txt', 'html', 'json', 'csv'];

/**
 * Small document `i` (about 1-4 KB): Markdown, plain text, HTML, JSON or CSV in turn, 2-5 sections
 * of 3-6 lines; every line names its document, section and line, so no two chunks are equal.
 */
export function smallDocument(i) {
  const ext = FORMATS[i % FORMATS.length];
  const sections = 2 + (i % 4);
  const lines = 3 + ((i >> 2) % 4);
  const line = (s, l) => `Line ${l} of section ${s} in document ${i}: ${words(i + s * 11 + l, 14 + ((i + l) % 9))}.`;
  let text;
  switch (ext) {
    case 'md':
      text = Array.from({ length: sections }, (_, s) => `# Section ${s} of document ${i}\n\n${Array.from({ length: lines }, (_, l) => line(s, l)).join('\n')}\n`).join('\n');
      break;
    case 'txt':
      text = Array.from({ length: sections }, (_, s) => Array.from({ length: lines }, (_, l) => line(s, l)).join('\n')).join('\n\n');
      break;
    case 'html':
      text = `<!doctype html><html><head><title>Document ${i}</title></head><body>${Array.from(
        { length: sections },
        (_, s) => `<h2>Section ${s} of document ${i}</h2>${Array.from({ length: lines }, (_, l) => `<p>${line(s, l)}</p>`).join('')}`,
      ).join('')}</body></html>`;
      break;
    case 'json':
      text = JSON.stringify(
        { document: i, sections: Array.from({ length: sections }, (_, s) => ({ title: `Section ${s} of document ${i}`, lines: Array.from({ length: lines }, (_, l) => line(s, l)) })) },
        null,
        2,
      );
      break;
    case 'csv':
      text = ['section,line,text', ...Array.from({ length: sections * lines }, (_, k) => `${Math.floor(k / lines)},${k % lines},"${line(Math.floor(k / lines), k % lines)}"`)].join('\n') + '\n';
      break;
  }
  return { name: `doc-${String(i).padStart(5, '0')}.${ext}`, data: Buffer.from(text), type: 'doc' };
}

/** PDF `i` of the load run: 40-80 pages. */
export async function largePdf(i, pages = 40 + ((i * 17) % 41)) {
  return { name: `report-${String(i).padStart(3, '0')}.pdf`, data: await makePdf(i, pages), type: 'pdf', pages };
}

/**
 * The chunk ids the pipeline must produce for one task of a document: the parser stage's parse,
 * chunk and build steps, run here directly.
 */
export async function expectedChunkIds(doc, docRow, task) {
  await parsing.initHashing();
  const cfg = docRow.parser_config;
  const parsed = await parsing.parseDocument({
    name: doc.name,
    data: doc.data,
    parserId: docRow.parser_id ?? 'naive',
    parserConfig: cfg,
    fromPage: task.from_page,
    toPage: task.to_page,
  });
  const built = parsing.buildChunks({ doc_id: docRow.id, kb_id: docRow.kb_id, doc_name: doc.name, parser_config: cfg }, parsing.chunkDocument(parsed, cfg));
  return built.map((c) => c.id);
}

/** A deterministic unit vector per seed, float32-exact, cheap to make (no embedder involved). */
export function unitVector(seed, dim) {
  const v = new Float32Array(dim);
  let x = (seed * 2654435761) >>> 0;
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    v[i] = x / 4294967296 - 0.5;
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm);
  return Array.from(v, (y) => Math.fround(y / norm));
}

/** Chunk `n` of a document as the indexer stores it (RAGFlow's fields and a `q_<dim>_vec`), for writing a doc store directly. */
export function storedChunk(n, docId, kbId, dim) {
  const text = `Ledger entry ${n}: vessel ${n * 7 + 3} at berth ${n % 17} with cargo lot ${n * 13 + 1} and ${n % 5} cranes.`;
  const tokens = text.toLowerCase().replace(/[^a-z0-9 ]/g, ' ');
  return {
    id: createHash('sha1').update(`${docId}:${n}`).digest('hex').slice(0, 16),
    doc_id: docId,
    kb_id: kbId,
    docnm_kwd: `${docId}.txt`,
    title_tks: `${docId} txt`,
    title_sm_tks: `${docId} txt`,
    content_with_weight: text,
    content_ltks: tokens,
    content_sm_ltks: tokens,
    page_num_int: [n],
    position_int: [[n, n, n, n, n]],
    top_int: [n],
    important_kwd: [],
    create_time: '2026-11-24 10:00:00',
    create_timestamp_flt: 1_795_000_000 + n,
    img_id: '',
    token_count: 24,
    [`q_${dim}_vec`]: unitVector(n, dim),
  };
}
