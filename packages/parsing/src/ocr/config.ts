/**
 * Whether `parser_config.layout_recognize` asks for OCR. RAGFlow's default is "DeepDOC" (layout
 * analysis with OCR); "Plain Text" (and `false`, and an empty value) read the text layer only.
 * Other recognisers (MinerU, Docling, a vision model's name) are not available here: their pages
 * get Ragline's OCR, the nearest it has.
 */
export function ocrRequested(parserConfig: Record<string, unknown>): boolean {
  const v = parserConfig['layout_recognize'];
  if (v === undefined || v === null || v === true) return true;
  if (v === false) return false;
  if (typeof v !== 'string') return true;
  const name = v.trim().toLowerCase().replace(/[\s_-]+/g, '');
  return name !== '' && name !== 'plaintext';
}
