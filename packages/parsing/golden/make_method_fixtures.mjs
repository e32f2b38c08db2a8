// Writes the documents the manual / paper / book / laws PDF and DOCX tests read, into the folder
// given (test/fixtures/methods): Word files written with the `docx` library (Word heading styles,
// a title, tables), and PDFs LibreOffice makes of them and of a license text, as people make PDFs.
//   node golden/make_method_fixtures.mjs test/fixtures/methods
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow } from 'docx';

const out = process.argv[2];
const H = { title: HeadingLevel.TITLE, 1: HeadingLevel.HEADING_1, 2: HeadingLevel.HEADING_2, 3: HeadingLevel.HEADING_3 };

const manual = [
  ['title', 'Ragline Operator Manual'],
  [0, 'This manual explains how to run Ragline in production.'],
  [1, 'Installation'],
  [0, 'Ragline ships as one container image per stage, and every stage reads the same configuration file.'],
  [2, 'Requirements'],
  [0, 'You need NATS JetStream, Redis and MariaDB reachable from every node of the cluster.'],
  ['table', [['Service', 'Port'], ['NATS', '4222'], ['Redis', '6379']]],
  [2, 'Steps'],
  [0, 'Pull the images, write the configuration file, and start the supervisor with the replica counts you need.'],
  [0, 'Check the health endpoint of every stage before sending traffic.'],
  [1, 'Configuration'],
  [0, 'Every setting has a default; the README lists them with the environment variable that overrides each.'],
  [2, 'Files'],
  [0, 'The configuration file is YAML. Unknown keys are rejected with a message naming the key.'],
  [1, 'Troubleshooting'],
  [0, 'When a task fails, its progress message says why. Parse errors are not retried; service errors are retried with backoff until the task runs out of attempts.'],
];

const paper = [
  ['title', 'Hierarchical Chunking for Retrieval'],
  [0, 'Ada Lovelace and Charles Babbage'],
  [0, 'Analytical Engine Laboratory, London'],
  [1, 'Abstract'],
  [
    0,
    'We study how the heading structure of long documents can guide the way they are cut into chunks for retrieval. Chunks that carry their section path are retrieved more often for questions about that section, at no cost for other questions.',
  ],
  [1, '1. Introduction'],
  [0, 'Retrieval augmented generation cuts documents into chunks and retrieves the chunks closest to a question.'],
  [0, 'Most systems cut by a token budget and ignore the document structure.'],
  [1, '2. Method'],
  [0, 'We keep every heading of a document and give each chunk the headings above it.'],
  [2, '2.1 Heading detection'],
  [0, 'Headings come from the styles of a word processor file or the font sizes of a PDF.'],
  [1, '3. Results'],
  [0, 'Recall at five improves by four points on our benchmark of manuals and papers.'],
  [1, '4. Conclusion'],
  [0, 'Structure helps retrieval; it is cheap to keep.'],
];

/** `outline`: headings carry Word's outline level, which LibreOffice exports as PDF bookmarks. */
async function docx(blocks, file, outline = false) {
  const children = blocks.map(([level, text]) =>
    level === 'table'
      ? new Table({ rows: text.map((cells) => new TableRow({ children: cells.map((c) => new TableCell({ children: [new Paragraph(c)] })) })) })
      : level === 0
        ? new Paragraph({ text })
        : new Paragraph({ text, heading: H[level], ...(outline && typeof level === 'number' ? { outlineLevel: level - 1 } : {}) }),
  );
  writeFileSync(join(out, file), new Uint8Array(await Packer.toBuffer(new Document({ sections: [{ children }] }))));
}

/** LibreOffice's PDF export (headings become bookmarks, as Writer's default export does). */
function toPdf(src, file) {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-fixtures-'));
  try {
    execFileSync('libreoffice', [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'pdf', '--outdir', dir, src], { stdio: 'ignore' });
    const base = src.split('/').pop().replace(/\.[^.]+$/, '');
    copyFileSync(join(dir, `${base}.pdf`), join(out, file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await docx(manual, 'manual.docx', true);
await docx(paper, 'paper.docx');
toPdf(join(out, 'manual.docx'), 'manual.pdf');
toPdf(join(out, 'paper.docx'), 'paper.pdf');
// a plain-text license (numbered sections "1. Definitions." ...) as LibreOffice prints a text file
const tmp = mkdtempSync(join(tmpdir(), 'ragline-license-'));
writeFileSync(join(tmp, 'apache-2.0.txt'), readFileSync('/usr/share/common-licenses/Apache-2.0'));
toPdf(join(tmp, 'apache-2.0.txt'), 'apache-2.0.pdf');
rmSync(tmp, { recursive: true, force: true });
// the Chinese law-style DOCX of the laws golden data, as a PDF
toPdf(join(out, '../laws-book/laws.docx'), 'laws.pdf');
