import { readFileSync } from 'node:fs';
import JSZip from 'jszip';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, countTokens, fineGrainedTokenize, initHashing, parseDocument, tokenize } from '../src/index.js';
import { pptxFormat } from '../src/formats/pptx.js';
import { sniffFormat } from '../src/formats/sniff.js';
import { addZeroEntry, makeDocx, makeZip } from './office-fixtures.js';
import { parseError } from './parse-error.js';

// deck.pptx is LibreOffice Impress's PPTX export of deck.fodp (soffice --headless --convert-to pptx deck.fodp):
// a title slide, a bulleted list, a table, an empty slide, and a slide whose text boxes and group are
// stored out of reading order.
const deck = new Uint8Array(readFileSync(new URL('./fixtures/pptx/deck.pptx', import.meta.url)));

/** The slide texts RAGFlow's RAGFlowPptParser gives for deck.pptx (ppt_parser.py read by hand). */
const SLIDES = [
  'Quarterly Review\nFinance team\nDecember 2026',
  // buChar bullets: "  " * level + "." + text
  'Goals\n.Grow revenue\n  .North region first\n.Hire two engineers',
  // the table (stored first) sits below the title; each body row as "header: cell" joined by "; "
  'Revenue by region\nRegion: North; Q1: 10; Q2: 12\nRegion: South; Q1: 7; Q2: ',
  '',
  // by (top // 10, left): the two top boxes, then the group (its shapes sorted too), then the bottom box;
  // a line break inside a paragraph is python-pptx's "\v"
  'Top left\nsecond line\vafter a break\nTop right\nGroup first\nGroup second\nBottom left',
];

const task = { doc_id: 'd0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1', kb_id: 'kb01kb01kb01kb01kb01kb01kb01kb01', doc_name: 'deck.pptx' };

beforeAll(async () => {
  await initHashing();
});

describe('PPTX under presentation', () => {
  it('reads every slide in slide order, shapes by top then left, tables and groups as RAGFlow does', async () => {
    const doc = await parseDocument({ name: 'deck.pptx', data: deck, parserId: 'presentation' });
    expect(doc.format).toBe('pptx');
    expect(doc.method).toBe('presentation');
    expect(doc.notes).toEqual([]);
    expect(doc.sections).toEqual(SLIDES.map((text, page) => ({ text, page })));
  });

  it('makes one chunk per slide with RAGFlow presentation fields', async () => {
    const doc = await parseDocument({ name: 'deck.pptx', data: deck, parserId: 'presentation' });
    const merged = chunkDocument(doc, { chunk_token_num: 4 });
    expect(merged.map((c) => c.text)).toEqual(SLIDES);
    const now = new Date(2026, 11, 4, 21, 0, 0);
    const chunks = buildChunks(task, merged, now);
    // buildChunks keeps the first of chunks with the same id: one empty slide here, so all five
    expect(chunks).toHaveLength(5);
    chunks.forEach((c, i) => {
      const text = SLIDES[i]!;
      const content_ltks = tokenize(text);
      expect(c).toEqual({
        id: c.id,
        doc_id: task.doc_id,
        kb_id: task.kb_id,
        docnm_kwd: 'deck.pptx',
        title_tks: tokenize('deck'),
        title_sm_tks: fineGrainedTokenize(tokenize('deck')),
        content_with_weight: text,
        content_ltks,
        content_sm_ltks: fineGrainedTokenize(content_ltks),
        page_num_int: [i + 1],
        top_int: [0],
        position_int: [[i + 1, 0, 0, 0, 0]],
        doc_type_kwd: 'image',
        important_kwd: [],
        create_time: '2026-12-04 21:00:00',
        create_timestamp_flt: now.getTime() / 1000,
        img_id: '',
        token_count: countTokens(text),
      });
      expect(c.id).toMatch(/^[0-9a-f]{16}$/);
    });
    expect(chunks[1]!.content_ltks).toContain('grow revenu');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(5);
  });

  it('takes a placeholder position from its layout placeholder (same idx), then the master (same type)', async () => {
    const zip = await JSZip.loadAsync(deck);
    const ns =
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
    const ph = (id: number, ph: string, text: string, off?: [number, number]) =>
      `<p:sp><p:nvSpPr><p:cNvPr id="${id}" name="s${id}"/><p:cNvSpPr/><p:nvPr>${ph}</p:nvPr></p:nvSpPr>` +
      `<p:spPr>${off ? `<a:xfrm><a:off x="${off[0]}" y="${off[1]}"/><a:ext cx="100" cy="100"/></a:xfrm>` : ''}</p:spPr>` +
      `<p:txBody><a:bodyPr/><a:p><a:r><a:t>${text}</a:t></a:r></a:p></p:txBody></p:sp>`;
    const tree = (shapes: string) => `<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>${shapes}</p:spTree></p:cSld>`;
    // slide 1 uses slideLayout2: a title without a position of its own (the master's title is at y=226080)
    // and a body placeholder idx 1 at y=3000000
    zip.file(
      'ppt/slideLayouts/slideLayout2.xml',
      `<?xml version="1.0" encoding="UTF-8"?><p:sldLayout ${ns}>${tree(ph(2, '<p:ph type="title"/>', 'layout title') + ph(3, '<p:ph type="body" idx="1"/>', 'layout body', [504000, 3000000]))}</p:sldLayout>`,
    );
    zip.file(
      'ppt/slides/slide1.xml',
      `<?xml version="1.0" encoding="UTF-8"?><p:sld ${ns}>${tree(
        ph(2, '<p:ph type="body" idx="1"/>', 'Body from the layout') +
          ph(3, '<p:ph type="title"/>', 'Title from the master') +
          ph(4, '', 'Box in between', [0, 1000000]) +
          ph(5, '<p:ph type="body" idx="7"/>', 'No layout placeholder: top 0'),
      )}</p:sld>`,
    );
    const data = await zip.generateAsync({ type: 'uint8array' });
    const doc = await parseDocument({ name: 'inherit.pptx', data, parserId: 'presentation' });
    expect(doc.sections[0]!.text).toBe('No layout placeholder: top 0\nTitle from the master\nBox in between\nBody from the layout');
  });
});

describe('PPTX under other parsers', () => {
  it('parses under naive: one section per slide, merged by token budget', async () => {
    const doc = await parseDocument({ name: 'deck.pptx', data: deck });
    expect(doc.chunkMode).toBe('merge');
    expect(doc.method).toBeUndefined();
    const merged = chunkDocument(doc, { chunk_token_num: 512 });
    expect(merged).toHaveLength(1);
    expect(merged[0]!.text).toContain('Region: North; Q1: 10; Q2: 12');
    expect(merged[0]!.pages).toEqual([0, 1, 2, 4]);
  });

  it('falls back to naive with a note for a format presentation does not read', async () => {
    const doc = await parseDocument({ name: 'notes.txt', data: new TextEncoder().encode('one line\n'), parserId: 'presentation' });
    expect(doc.method).toBeUndefined();
    expect(doc.notes).toContain("parser 'presentation' does not read text files; chunked with 'naive'");
  });
});

describe('PPTX sniffing', () => {
  it('recognises a PPTX by its bytes, with no or a misleading extension', async () => {
    for (const name of ['deck', 'deck.bin', 'deck.txt']) {
      const choice = await sniffFormat(name, deck, { size: deck.byteLength });
      expect(choice.format, name).toBe(pptxFormat);
    }
    expect((await sniffFormat('deck.pptx', deck)).by).toBe('extension');
    const doc = await parseDocument({ name: 'upload', data: deck, parserId: 'presentation' });
    expect(doc.sections.map((s) => s.text)).toEqual(SLIDES);
  });

  it('reads a PPTX named .docx as a presentation, and a DOCX named .pptx as not one', async () => {
    expect((await parseDocument({ name: 'deck.docx', data: deck })).format).toBe('pptx');
    const docx = await makeDocx([{ paragraph: 'hello' }]);
    expect((await sniffFormat('letter.pptx', docx)).format?.id).toBe('docx');
  });
});

describe('bad PPTX files', () => {
  it('refuses a zip bomb before unpacking', async () => {
    const bomb = await addZeroEntry(deck, 'ppt/media/huge.bin', 64 * 1024 * 1024);
    const err = await parseError({ name: 'bomb.pptx', data: bomb });
    expect(err.code).toBe('too_large');
    expect(err.message).toMatch(/^zip bomb refused: ppt\/media\/huge\.bin in bomb\.pptx expands from [\d,]+ bytes to 67,108,864 bytes/);
  });

  it('rejects truncated, non-zip, OLE2 and non-presentation files as corrupt', async () => {
    const cut = await parseError({ name: 'cut.pptx', data: deck.subarray(0, deck.byteLength >> 1) });
    expect(cut.code).toBe('corrupt');
    expect(cut.message).toMatch(/^corrupt file: cut\.pptx is not a readable zip archive/);

    const text = await parseError({ name: 'notes.pptx', data: new TextEncoder().encode('just text') });
    expect(text.message).toBe(
      'corrupt file: notes.pptx is not a PowerPoint presentation (a .pptx file is a zip archive, and this one does not start like one). Legacy .ppt files must be saved as .pptx first.',
    );

    const ole = new Uint8Array(1024);
    ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    const legacy = await parseError({ name: 'old.pptx', data: ole });
    expect(legacy.code).toBe('corrupt');
    expect(legacy.message).toMatch(/^corrupt file: old\.pptx is an OLE2 compound file.*legacy \.ppt file renamed/);

    const other = await parseError({ name: 'other.pptx', data: await makeZip({ 'readme.txt': 'hello' }) });
    expect(other.code).toBe('corrupt');
    expect(other.message).toMatch(/^corrupt file: other\.pptx is not a readable PowerPoint presentation \(it has no presentation part/);

    const zip = await JSZip.loadAsync(deck);
    zip.file('ppt/slides/slide2.xml', '');
    const empty = await parseError({ name: 'hollow.pptx', data: await zip.generateAsync({ type: 'uint8array' }) });
    expect(empty.code).toBe('corrupt');
    expect(empty.message).toBe('corrupt file: hollow.pptx is not a readable PowerPoint presentation (ppt/slides/slide2.xml holds no XML)');
  });
});
