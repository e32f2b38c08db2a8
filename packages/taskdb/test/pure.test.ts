import { describe, expect, it } from 'vitest';
import {
  MAXIMUM_TASK_PAGE_NUMBER,
  PyFloat,
  TaskDbError,
  appendProgressMsg,
  formatProgressLine,
  nextProgress,
  planTasks,
  pythonRepr,
  pythonStr,
  taskDigest,
  toTaskDbError,
  trimHeaderByLines,
  xxh64Hex,
} from '../src/index.js';

const at = new Date(2026, 7, 22, 9, 5, 7); // local 09:05:07

describe('formatProgressLine', () => {
  it('prefixes local HH:MM:SS', () => {
    expect(formatProgressLine('Start to parse.', { at })).toBe('09:05:07 Start to parse.');
  });
  it('adds Page(from+1~to) when to > 0 and from < to', () => {
    expect(formatProgressLine('OCR started', { at, pageRange: { from: 12, to: 24 } })).toBe('09:05:07 Page(13~24): OCR started');
    expect(formatProgressLine('x', { at, pageRange: { from: 0, to: MAXIMUM_TASK_PAGE_NUMBER } })).toBe('09:05:07 Page(1~100000000): x');
    expect(formatProgressLine('x', { at, pageRange: { from: 5, to: 5 } })).toBe('09:05:07 x');
    expect(formatProgressLine('x', { at, pageRange: { from: 0, to: -1 } })).toBe('09:05:07 x');
  });
  it('marks failures with [ERROR] inside the page prefix', () => {
    expect(formatProgressLine('boom', { at, failed: true, pageRange: { from: 0, to: 3 } })).toBe('09:05:07 Page(1~3): [ERROR]boom');
  });
  it('keeps an empty message empty', () => {
    expect(formatProgressLine('', { at, pageRange: { from: 0, to: 3 } })).toBe('');
  });
});

describe('trimHeaderByLines', () => {
  it('returns short text unchanged', () => {
    expect(trimHeaderByLines('a\nb', 3000)).toBe('a\nb');
  });
  it('keeps the tail, cut just after a newline', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(4, '0')}`); // 9 chars each
    const text = lines.join('\n');
    const out = trimHeaderByLines(text, 3000);
    expect(out.length).toBeLessThanOrEqual(3000);
    expect(text.endsWith(out)).toBe(true);
    expect(out.startsWith('line ')).toBe(true);
    // the largest tail that starts right after a newline
    expect(out.length).toBeGreaterThan(3000 - 10);
  });
  it('returns text with no usable newline unchanged (as RAGFlow)', () => {
    const text = 'x'.repeat(3100);
    expect(trimHeaderByLines(text, 3000)).toBe(text);
  });
  it('counts code points like Python', () => {
    const text = `${'😀'.repeat(5)}\n${'😀'.repeat(5)}`; // 11 code points, 22 UTF-16 units
    expect(trimHeaderByLines(text, 11)).toBe(text);
    expect(trimHeaderByLines(text, 10)).toBe('😀'.repeat(5));
  });
  it('appendProgressMsg joins with a newline', () => {
    expect(appendProgressMsg('', 'a')).toBe('\na');
    expect(appendProgressMsg('old', 'b')).toBe('old\nb');
    expect(appendProgressMsg('old', '')).toBe('old');
  });
});

describe('nextProgress', () => {
  it('is monotonic', () => {
    expect(nextProgress(0.5, 0.3)).toBe(0.5);
    expect(nextProgress(0.5, 0.7)).toBe(0.7);
  });
  it('-1 is sticky except for >= 1', () => {
    expect(nextProgress(0.5, -1)).toBe(-1);
    expect(nextProgress(-1, 0.9)).toBe(-1);
    expect(nextProgress(-1, 1)).toBe(1);
  });
  it('any negative value means failed', () => {
    expect(nextProgress(0.2, -0.5)).toBe(-1);
  });
});

describe('pythonRepr', () => {
  it('formats scalars like Python', () => {
    expect(pythonRepr(null)).toBe('None');
    expect(pythonRepr(true)).toBe('True');
    expect(pythonRepr(false)).toBe('False');
    expect(pythonRepr(512)).toBe('512');
    expect(pythonRepr(0.1)).toBe('0.1');
    expect(pythonRepr(1e16)).toBe('1e+16');
    expect(pythonRepr(1e22)).toBe('1e+22');
    expect(pythonRepr(1e-5)).toBe('1e-05');
    expect(pythonRepr(2.5e-7)).toBe('2.5e-07');
    expect(pythonRepr(0.0001)).toBe('0.0001');
    expect(pythonRepr(1 / 3)).toBe('0.3333333333333333');
    expect(pythonRepr(123456789.125)).toBe('123456789.125');
    expect(pythonRepr(new PyFloat(100))).toBe('100.0');
    expect(pythonRepr(new PyFloat(1e15))).toBe('1000000000000000.0');
    expect(pythonRepr(new PyFloat(-0))).toBe('-0.0');
  });
  it('quotes and escapes strings like Python', () => {
    expect(pythonRepr('abc')).toBe("'abc'");
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr(`a'b"c`)).toBe(`'a\\'b"c'`);
    expect(pythonRepr('\\')).toBe("'\\\\'");
    expect(pythonRepr('tab\there\x01\xa0中')).toBe("'tab\\there\\x01\\xa0中'");
    expect(pythonRepr('\u2028x😀\u200b')).toBe("'\\u2028x😀\\u200b'");
    expect(pythonRepr('\x7f\x85')).toBe("'\\x7f\\x85'");
  });
  it('formats dicts and lists like Python', () => {
    expect(pythonRepr({ a: 1e16, b: 1e-5, c: 0.1, d: [true, null, "it's"], e: 'x' })).toBe(
      `{'a': 1e+16, 'b': 1e-05, 'c': 0.1, 'd': [True, None, "it's"], 'e': 'x'}`,
    );
    expect(pythonRepr({})).toBe('{}');
    expect(pythonRepr([])).toBe('[]');
    expect(pythonRepr({ pages: [[1, 1000000]] })).toBe("{'pages': [[1, 1000000]]}");
  });
  it('str() leaves top-level strings unquoted', () => {
    expect(pythonStr('abc')).toBe('abc');
    expect(pythonStr(null)).toBe('None');
    expect(pythonStr(12)).toBe('12');
  });
});

describe('xxh64 and taskDigest', () => {
  it('matches xxh64 reference vectors', () => {
    expect(xxh64Hex('')).toBe('ef46db3751d8e999');
    expect(xxh64Hex('abc')).toBe('44bc2cf5ad770999');
  });

  // Expected digests were computed with RAGFlow's algorithm in CPython 3 + the xxhash package.
  const config = () => ({
    id: 'd0c',
    kb_id: 'kb1',
    parser_id: 'naive',
    parser_config: {
      pages: [[1, 1000000]],
      chunk_token_num: 512,
      delimiter: '\n!?。；！？',
      layout_recognize: 'DeepDOC',
      raptor: { use_raptor: false },
      graphrag: { use_graphrag: false },
      filename_embd_weight: 0.1,
      html4excel: false,
      auto_keywords: 0,
      name: 'it\'s "q"',
    },
    size: 1234,
    content_hash: '' as string | null,
    language: 'English',
    embd_id: 'BAAI/bge-m3@Builtin',
    tenant_id: 't1',
    img2txt_id: '',
    asr_id: '',
    llm_id: 'qwen@Tongyi',
  });

  it('reproduces a digest computed by RAGFlow code', () => {
    expect(taskDigest(config(), { doc_id: 'd0c', from_page: 12, to_page: 24 })).toBe('a7f6f7922da537c7');
    const c2 = { ...config(), content_hash: null, size: 0 };
    expect(taskDigest(c2, { doc_id: 'd0c', from_page: 0, to_page: 100000000 })).toBe('11d6ca6eb6219b64');
  });

  it('is stable, ignores key order, raptor/graphrag, and changes with the range', () => {
    const a = taskDigest(config(), { doc_id: 'd0c', from_page: 0, to_page: 12 });
    const reversed = Object.fromEntries(Object.entries(config()).reverse());
    expect(taskDigest(reversed, { doc_id: 'd0c', from_page: 0, to_page: 12 })).toBe(a);
    const c = config();
    c.parser_config.raptor = { use_raptor: true };
    expect(taskDigest(c, { doc_id: 'd0c', from_page: 0, to_page: 12 })).toBe(a);
    expect(taskDigest(config(), { doc_id: 'd0c', from_page: 12, to_page: 24 })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not mutate the config', () => {
    const c = config();
    taskDigest(c, { doc_id: 'd0c', from_page: 0, to_page: 1 });
    expect(c.parser_config.raptor).toEqual({ use_raptor: false });
  });
});

describe('planTasks', () => {
  const pdf = (parser_id: string, parser_config: Record<string, unknown> = {}) => ({ id: 'doc', type: 'pdf', parser_id, parser_config });
  const ranges = (tasks: { from_page: number; to_page: number }[]) => tasks.map((t) => [t.from_page, t.to_page]);

  it('splits PDFs into 12-page tasks', () => {
    expect(ranges(planTasks(pdf('naive'), { pages: 30 }))).toEqual([
      [0, 12],
      [12, 24],
      [24, 30],
    ]);
  });
  it('uses 22 pages for paper and task_page_size when set', () => {
    expect(ranges(planTasks(pdf('paper'), { pages: 30 }))).toEqual([
      [0, 22],
      [22, 30],
    ]);
    expect(ranges(planTasks(pdf('naive', { task_page_size: 10 }), { pages: 25 }))).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
  });
  it('makes one task for one, knowledge_graph and toc_extraction', () => {
    expect(ranges(planTasks(pdf('one'), { pages: 30 }))).toEqual([[0, 30]]);
    expect(ranges(planTasks(pdf('knowledge_graph'), { pages: 30 }))).toEqual([[0, 30]]);
    expect(ranges(planTasks(pdf('naive', { toc_extraction: true }), { pages: 30 }))).toEqual([[0, 30]]);
  });
  it('honours parser_config.pages with RAGFlow off-by-one (e-1)', () => {
    expect(ranges(planTasks(pdf('naive', { pages: [[1, 10]] }), { pages: 100 }))).toEqual([[0, 9]]);
    expect(ranges(planTasks(pdf('naive', { pages: [[1, 1000000]] }), { pages: 5 }))).toEqual([[0, 5]]);
    expect(ranges(planTasks(pdf('naive', { pages: [[3, 5], [20, 40]] }), { pages: 25 }))).toEqual([
      [2, 4],
      [19, 25],
    ]);
  });
  it('zero pages gives zero tasks', () => {
    expect(planTasks(pdf('naive'), { pages: 0 })).toEqual([]);
    expect(planTasks(pdf('naive'), {})).toEqual([]);
  });
  it('splits the table parser by 3000 rows', () => {
    const t = { id: 'doc', type: 'doc', parser_id: 'table', parser_config: {} };
    expect(ranges(planTasks(t, { rows: 7000 }))).toEqual([
      [0, 3000],
      [3000, 6000],
      [6000, 7000],
    ]);
    expect(planTasks(t, { rows: 0 })).toEqual([]);
  });
  it('one whole-range task for anything else', () => {
    const tasks = planTasks({ id: 'doc', type: 'doc', parser_id: 'naive', parser_config: {} }, {}, 1);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ doc_id: 'doc', from_page: 0, to_page: MAXIMUM_TASK_PAGE_NUMBER, progress: 0, priority: 1, task_type: '' });
    expect(tasks[0]!.id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('errors', () => {
  it('maps connection and lock errors to retryable and redacts the password', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1 user:s3cret'), { code: 'ECONNREFUSED' });
    const e = toTaskDbError(refused, 'op', ['s3cret']);
    expect(e).toBeInstanceOf(TaskDbError);
    expect(e.retryable).toBe(true);
    expect(e.message).not.toContain('s3cret');
    for (const code of ['PROTOCOL_CONNECTION_LOST', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']) {
      expect(toTaskDbError(Object.assign(new Error(code), { code }), 'op').retryable).toBe(true);
    }
    expect(toTaskDbError(Object.assign(new Error('syntax'), { code: 'ER_PARSE_ERROR' }), 'op').retryable).toBe(false);
  });
});
