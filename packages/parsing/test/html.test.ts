import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { chunkDocument, htmlSections, parseDocument } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const PAGE = `<!DOCTYPE html>
<html>
<head>
  <title>Widget Manual</title>
  <style>body { color: red; } h1 { font-size: 2em; }</style>
  <script>window.track = function () { return "tracking code"; };</script>
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
  <div role="navigation">Skip to content</div>
  <h1>Getting   started</h1>
  <p>Install the <b>widget</b> &amp; plug it in.<br>Then press the button.</p>
  <noscript>Enable JavaScript</noscript>
  <h2>Specs</h2>
  <table>
    <thead><tr><th>Part</th><th>Size</th></tr></thead>
    <tbody>
      <tr><td>Base</td><td>10&nbsp;cm</td></tr>
      <tr><td>Lid</td><td>4 cm</td></tr>
    </tbody>
  </table>
  <ol><li>Open the box</li><li>Lift the lid</li></ol>
  <ul><li>Keep dry</li></ul>
  <pre>line one
  line two</pre>
  <p hidden>secret draft</p>
  <form><button>Buy</button><input value="qty"></form>
  <footer>© 2024 Widgets Inc.</footer>
</body>
</html>`;

describe('HTML', () => {
  it('gives readable text: headings start sections, scripts, styles and navigation are dropped', async () => {
    const doc = await parseDocument({ name: 'manual.html', data: enc(PAGE) });
    expect(doc.format).toBe('html');
    expect(doc.sections.map((s) => s.text)).toEqual([
      'Widget Manual',
      'Getting started\nInstall the widget & plug it in.\nThen press the button.',
      'Specs\nPart | Size\nBase | 10 cm\nLid | 4 cm\n1. Open the box\n2. Lift the lid\n- Keep dry\nline one\n  line two\n© 2024 Widgets Inc.',
    ]);
    const all = doc.sections.map((s) => s.text).join('\n');
    for (const noise of ['color: red', 'tracking code', 'Home', 'Skip to content', 'Enable JavaScript', 'secret draft', 'Buy', 'qty']) {
      expect(all).not.toContain(noise);
    }
  });

  it('does not repeat a title that is also the first heading', () => {
    const sections = htmlSections('<title>Notes</title><h1>Notes</h1><p>one</p>');
    expect(sections.map((s) => s.text)).toEqual(['Notes\none']);
  });

  it('keeps text before the first heading and text of fragments without <html>', () => {
    const sections = htmlSections('intro <i>text</i><h3>Part A</h3>body<div>block</div>tail');
    expect(sections.map((s) => s.text)).toEqual(['intro text', 'Part A\nbody\nblock\ntail']);
  });

  it('flattens nested tables into the cell that holds them', () => {
    const sections = htmlSections('<table><tr><td>outer</td><td><table><tr><td>in1</td><td>in2</td></tr></table></td></tr></table>');
    expect(sections.map((s) => s.text)).toEqual(['outer | in1 in2']);
  });

  it('decodes GBK pages', async () => {
    const data = iconv.encode('<html><body><h1>公告</h1><p>明天放假一天。</p></body></html>', 'gbk');
    const doc = await parseDocument({ name: 'notice.htm', data });
    expect(doc.encoding).toBe('gb18030');
    expect(doc.sections.map((s) => s.text)).toEqual(['公告\n明天放假一天。']);
  });

  it('chunks sections with the naive merge', async () => {
    const doc = await parseDocument({ name: 'manual.html', data: enc(PAGE) });
    const chunks = chunkDocument(doc, { chunk_token_num: 16, delimiter: '\n' });
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.text).join('')).toContain('Base | 10 cm');
  });
});
