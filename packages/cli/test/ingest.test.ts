import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ragline/config';
import { ragflowQueueName } from '@ragline/contracts';
import { pdfPageCount } from '@ragline/parsing';
import { dropDatabase } from '@ragline/taskdb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, embdIdFor, openClients, type Clients } from '../src/context.js';
import { IngestRefusedError, checkFiles, ingestFiles, parserForUpload, type IngestDeps } from '../src/ingest.js';

const id = randomBytes(4).toString('hex');
const dataDir = mkdtempSync(join(tmpdir(), `ragline-ingest-${id}-`));
const filesDir = mkdtempSync(join(tmpdir(), `ragline-ingest-files-${id}-`));
const cfg = loadConfig(CliEnv, {
  MYSQL_URL: `mysql://root@127.0.0.1:3306/ragline_ingest_${id}`,
  REDIS_URL: 'redis://127.0.0.1:6379/15',
  REDIS_KEY_PREFIX: `ingest-${id}:`,
  RAGLINE_DATA_DIR: dataDir,
});
const queue = ragflowQueueName(0, cfg.RAGFLOW_QUEUE_NAMING);

// real files: a license text without an extension, a PDF under a .txt name, a program (no parser
// reads one; images are read by OCR now)
const license = join(filesDir, 'GPL-3');
const misnamedPdf = join(filesDir, 'mime-spec.txt');
const prog = join(filesDir, 'ls.png');
const progAsText = join(filesDir, 'ls.txt');
copyFileSync('/usr/share/common-licenses/GPL-3', license);
copyFileSync('/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf', misnamedPdf);
copyFileSync('/bin/ls', prog);
copyFileSync('/bin/ls', progAsText);

let c: Clients;
let deps: IngestDeps;

/** Every file under the object store's folder. */
const storedObjects = () => readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());

beforeAll(async () => {
  c = openClients(cfg);
  await c.taskdb.migrate();
  deps = { taskdb: c.taskdb, store: c.store, producer: c.producer, redis: c.redis, queueNaming: cfg.RAGFLOW_QUEUE_NAMING, embdId: embdIdFor(cfg) };
});

afterAll(async () => {
  const keys = await c?.redis.keys('*');
  if (keys?.length) await c.redis.del(...keys.map((k) => k.slice(cfg.REDIS_KEY_PREFIX.length)));
  if (c) await dropDatabase(c.taskdb);
  await c?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(filesDir, { recursive: true, force: true });
});

describe('the parser an uploaded file gets', () => {
  it("is RAGFlow's get_parser: slides -> presentation, mail -> email, images -> picture, else the knowledge base's; spreadsheets read as tables", () => {
    expect(parserForUpload('pptx', undefined, 'naive')).toBe('presentation');
    expect(parserForUpload('eml', undefined, 'naive')).toBe('email');
    expect(parserForUpload('', 'eml', 'naive')).toBe('email');
    expect(parserForUpload('', 'pptx', 'qa')).toBe('presentation');
    expect(parserForUpload('xlsx', undefined, 'naive')).toBe('table');
    expect(parserForUpload('txt', 'table', 'naive')).toBe('table');
    expect(parserForUpload('md', 'markdown', 'qa')).toBe('qa');
    expect(parserForUpload('docx', undefined, 'laws')).toBe('laws');
    expect(parserForUpload('png', undefined, 'naive')).toBe('picture');
    expect(parserForUpload('bmp', undefined, 'naive')).toBe('picture');
    expect(parserForUpload('', 'image', 'qa')).toBe('picture');
  });
});

describe('ragline ingest checks every file before enqueuing any', () => {
  it('refuses an invocation with a file no parser reads, naming it and the supported formats, and stores nothing', async () => {
    const folder = join(filesDir, 'a-folder');
    mkdirSync(folder);
    const err = await ingestFiles(deps, [license, prog, misnamedPdf, progAsText, folder], { kb: `refused-${id}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestRefusedError);
    const refused = (err as IngestRefusedError).refused;
    expect(refused.map((r) => r.file)).toEqual([prog, progAsText, folder]);
    expect(refused[0]!.reason).toMatch(
      /^unsupported file type: ls\.png is ELF data \(application\/x-elf\) by its content, which no parser reads; supported formats: text, markdown, pdf, docx, table, html, json, jsonl(?:, [a-z]+)* \(\.txt, .*\.pdf, \.docx/,
    );
    expect(refused[1]!.reason).toContain('ls.txt is ELF data (application/x-elf)');
    expect(refused[2]!.reason).toBe('not a file but a folder: name the files in it');
    expect((err as Error).message).toMatch(new RegExp(`^refused 3 files, so nothing was stored or enqueued:\\n  ${prog.replace(/[.]/g, '\\.')}: unsupported file type`));
    // the CLI prints the stack of what ingest throws: no trace for this one
    expect((err as Error).stack).toBe((err as Error).message);

    // neither the good files nor the bad ones reached the queue, the database or the object store
    expect(await c.redis.exists(queue)).toBe(0);
    expect(await c.taskdb.listTasks()).toEqual([]);
    expect(await c.taskdb.findKnowledgebaseByName(`refused-${id}`)).toBeNull();
    expect(storedObjects()).toEqual([]);
  });

  it('queues an extensionless text file as text and a PDF named .txt as a PDF split by pages', async () => {
    expect((await checkFiles([license, misnamedPdf])).map((f) => [f.name, f.format.id, f.by])).toEqual([
      ['GPL-3', 'text', 'content'],
      ['mime-spec.txt', 'pdf', 'content'],
    ]);
    const docs = await ingestFiles(deps, [license, misnamedPdf], { kb: `good-${id}` });
    expect(docs.map((d) => d.name)).toEqual(['GPL-3', 'mime-spec.txt']);

    const text = (await c.taskdb.getDocument(docs[0]!.docId))!;
    expect(text).toMatchObject({ type: 'doc', suffix: '' });
    expect(docs[0]!.tasks).toHaveLength(1);

    const pdf = (await c.taskdb.getDocument(docs[1]!.docId))!;
    expect(pdf).toMatchObject({ type: 'pdf', suffix: 'txt' });
    const pages = await pdfPageCount(readFileSync(misnamedPdf));
    expect(pages).toBeGreaterThan(12);
    // RAGFlow's 12-page tasks, as for a PDF named .pdf
    expect(docs[1]!.tasks).toHaveLength(Math.ceil(pages / 12));
    const first = (await c.taskdb.getTask(docs[1]!.tasks[0]!))!;
    expect([first.from_page, first.to_page]).toEqual([0, 12]);

    const entries = await c.redis.xrange(queue, '-', '+');
    expect(entries).toHaveLength(1 + Math.ceil(pages / 12));
    expect(storedObjects().map((e) => e.name).sort()).toEqual(['GPL-3', 'mime-spec.txt']);
  });
});
