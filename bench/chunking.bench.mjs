// Parser hot path: decode + Markdown sections + RAGFlow naive merge + chunk documents, on generated text.
import { buildChunks, initHashing, mergeOptionsFromParserConfig, naiveMerge, parseDocument } from '@ragline/parsing';

function corpus(bytes) {
  const words = 'pipeline stage token chunk vector index queue replica embed parse document retrieval'.split(' ');
  const lines = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    if (i % 40 === 0) lines.push(`## Section ${i / 40}`);
    const line = Array.from({ length: 14 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ') + '.';
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n'));
}

export async function run() {
  await initHashing();
  const data = corpus(4 * 1024 * 1024);
  const cfg = { chunk_token_num: 512, delimiter: '\n' };
  const rows = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    const doc = await parseDocument({ name: 'bench.md', data, parserConfig: cfg });
    const merged = naiveMerge(doc.sections, mergeOptionsFromParserConfig(cfg));
    const chunks = buildChunks({ doc_id: 'd'.repeat(32), kb_id: 'k'.repeat(32), doc_name: 'bench.md' }, merged);
    const ms = performance.now() - t0;
    const tokens = merged.reduce((s, m) => s + m.tokens, 0);
    rows.push({ round, ms: Math.round(ms), mb_per_s: +(data.byteLength / 1048576 / (ms / 1000)).toFixed(2), chunks: chunks.length, tokens_per_s: Math.round(tokens / (ms / 1000)) });
  }
  return { input_bytes: data.byteLength, rows, peak_rss_mb: Math.round(process.memoryUsage().rss / 1048576) };
}
