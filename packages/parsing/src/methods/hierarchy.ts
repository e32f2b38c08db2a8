import { countTokens } from '@ragline/tokenizer';

/**
 * RAGFlow's title and bullet hierarchy helpers (rag/nlp/__init__.py: BULLET_PATTERN,
 * bullets_category, not_bullet, remove_contents_table, make_colon_as_title, tree_merge with its
 * Node tree, hierarchical_merge, docx_question_level), over strings, for the `laws` and `book`
 * methods. Python's `re.match` anchors at the start of the string; the patterns here are anchored
 * the same way (and Python's `{,2}` is written `{0,2}`).
 */

/** A section as RAGFlow's helpers see it: its text and its layout tag ("" from text files, "title" for a made-up title). */
export type LaidSection = [text: string, layout: string];

/** The bullet families, in RAGFlow's order; a family's patterns go from the top level down. */
const BULLET_SOURCES: readonly (readonly string[])[] = [
  [
    '第[零一二三四五六七八九十百0-9]+(分?编|部分)',
    '第[零一二三四五六七八九十百0-9]+章',
    '第[零一二三四五六七八九十百0-9]+节',
    '第[零一二三四五六七八九十百0-9]+条',
    '[\\(（][零一二三四五六七八九十百]+[\\)）]',
  ],
  [
    '第[0-9]+章',
    '第[0-9]+节',
    '[0-9]{0,2}[\\. 、]',
    '[0-9]{0,2}\\.[0-9]{0,2}[^a-zA-Z/%~-]',
    '[0-9]{0,2}\\.[0-9]{0,2}\\.[0-9]{0,2}',
    '[0-9]{0,2}\\.[0-9]{0,2}\\.[0-9]{0,2}\\.[0-9]{0,2}',
  ],
  [
    '第[零一二三四五六七八九十百0-9]+章',
    '第[零一二三四五六七八九十百0-9]+节',
    '[零一二三四五六七八九十百]+[ 、]',
    '[\\(（][零一二三四五六七八九十百]+[\\)）]',
    '[\\(（][0-9]{0,2}[\\)）]',
  ],
  ['PART (ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|TEN)', 'Chapter (I+V?|VI*|XI|IX|X)', 'Section [0-9]+', 'Article [0-9]+'],
  ['^#[^#]', '^##[^#]', '^###.*', '^####.*', '^#####.*', '^######.*'],
];

/** Python `re.match(pattern, s)`: a match at the start of s. */
const atStart = (source: string): RegExp => new RegExp(`^(?:${source})`, 'u');

export const BULLET_PATTERN: readonly (readonly RegExp[])[] = BULLET_SOURCES.map((f) => f.map(atStart));

const NOT_BULLET = ['0', '[0-9]+ +[0-9~个只-]', '[0-9]+\\.{2,}', '[0-9]+(\\.[0-9]+){2,}[的中]'].map(atStart);

/** Python's str.isspace characters, which str.strip() removes. */
const PY_SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'gu');
const SPLIT = new RegExp(`${PY_SPACE}+`, 'u');

/** Python `s.strip()`. */
export const pyStrip = (s: string): string => s.replace(STRIP, '');
/** Python `s.split()`: runs of whitespace, no empty items. */
const pySplit = (s: string): string[] => pyStrip(s).split(SPLIT).filter((w) => w !== '');
/** Python `len(s)`: code points. */
const pyLen = (s: string): number => Array.from(s).length;

export function notBullet(line: string): boolean {
  return NOT_BULLET.some((r) => r.test(line));
}

/** The bullet family most sections start with (ties go to the earlier family), or -1 for none. */
export function bulletsCategory(sections: readonly string[]): number {
  const hits = BULLET_PATTERN.map((family) => {
    let n = 0;
    for (const raw of sections) {
      const sec = pyStrip(raw);
      if (family.some((p) => p.test(sec)) && !notBullet(sec)) n++;
    }
    return n;
  });
  let res = -1;
  let maximum = 0;
  hits.forEach((h, i) => {
    if (h > maximum) {
      res = i;
      maximum = h;
    }
  });
  return res;
}

const ENGLISH = /^[`a-zA-Z0-9\s.,':;/"?<>!()\-]+$/;

/** More than 80% of the non-blank texts are plain ASCII words, digits and punctuation. */
export function isEnglish(texts: readonly string[]): boolean {
  const kept = texts.filter((t) => pyStrip(t) !== '');
  if (kept.length === 0) return false;
  return kept.filter((t) => ENGLISH.test(pyStrip(t))).length / kept.length > 0.8;
}

const CONTENTS = /^(contents|目录|目次|table of contents|致谢|acknowledge)$/;

/**
 * Drops a table of contents in place: a "Contents" / "目录" line, then the entries up to the line
 * that starts like the first entry again (its first 3 characters, or first two words in English),
 * within 128 lines. As in RAGFlow the prefix is used as a regular expression; one that is not a
 * valid pattern matches nothing here (RAGFlow's task would fail on it).
 */
export function removeContentsTable<T extends string | LaidSection>(sections: T[], eng: boolean): void {
  const get = (i: number): string => pyStrip(typeof sections[i] === 'string' ? (sections[i] as string) : (sections[i] as LaidSection)[0]);
  const prefixOf = (i: number): string => (eng ? pySplit(get(i)).slice(0, 2).join(' ') : Array.from(get(i)).slice(0, 3).join(''));
  let i = 0;
  while (i < sections.length) {
    if (!CONTENTS.test(get(i).split('@@')[0]!.replace(/( | |\u3000)+/g, ''))) {
      i++;
      continue;
    }
    sections.splice(i, 1);
    if (i >= sections.length) break;
    let prefix = prefixOf(i);
    while (!prefix) {
      sections.splice(i, 1);
      if (i >= sections.length) break;
      prefix = prefixOf(i);
    }
    sections.splice(i, 1);
    if (i >= sections.length || !prefix) break;
    let re: RegExp | undefined;
    try {
      re = atStart(prefix);
    } catch {
      re = undefined;
    }
    for (let j = i; j < Math.min(i + 128, sections.length); j++) {
      if (!re || !re.test(get(j))) continue;
      sections.splice(i, j - i);
      break;
    }
  }
}

/**
 * RAGFlow's make_colon_as_title: a section ending in a colon would get the clause before the colon
 * inserted as a "title" section when that clause is long, but RAGFlow compares the length of the
 * split's first separator (never 32 characters long), so nothing is ever inserted. Kept as the
 * no-op it is, for the record.
 */
export function makeColonAsTitle(sections: LaidSection[]): void {
  void sections;
}

/** RAGFlow's not_title: too many words, too long without spaces, or has sentence punctuation (but 第…条 articles are titles). */
export function notTitle(txt: string): boolean {
  if (/^第[零一二三四五六七八九十百0-9]+条/.test(txt)) return false;
  if (pySplit(txt).length > 12 || (!txt.includes(' ') && pyLen(txt) >= 32)) return true;
  return /[,;，。；！!]/.test(txt);
}

/** Sections with real text: more than one character before any "@" tag, and not a bare number. */
function keepSection([t]: LaidSection): boolean {
  if (!t) return false;
  const head = pyStrip(t.split('@')[0]!);
  return pyLen(head) > 1 && !/^[0-9]+$/.test(head);
}

const titleLayout = (layout: string): boolean => /(title|head)/.test(layout);

/** RAGFlow's Node: a title (or body) with its children; `depth` is the deepest level still a title. */
export class TitleNode {
  readonly children: TitleNode[] = [];
  constructor(
    readonly level: number,
    readonly depth: number,
    readonly texts: string[],
  ) {}

  buildTree(lines: readonly (readonly [number, string])[]): this {
    const stack: TitleNode[] = [this];
    for (const [level, text] of lines) {
      if (this.depth !== -1 && level > this.depth) {
        stack[stack.length - 1]!.texts.push(text);
        continue;
      }
      while (stack.length > 1 && level <= stack[stack.length - 1]!.level) stack.pop();
      const node = new TitleNode(level, -1, [text]);
      stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    }
    return this;
  }

  /** The chunks: each body under its title path, each title without body as its path alone (empty ones dropped). */
  getTree(): string[] {
    const out: string[] = [];
    const depth = this.depth;
    const dfs = (node: TitleNode, titles: string[]): void => {
      const { level, texts, children } = node;
      if (level === 0 && texts.length > 0) out.push([...titles, ...texts].join('\n'));
      const inDepth = level >= 1 && level <= depth;
      const path = inDepth ? [...titles, ...texts] : titles;
      if (level > depth && texts.length > 0) out.push([...path, ...texts].join('\n'));
      else if (children.length === 0 && inDepth) out.push(path.join('\n'));
      for (const c of children) dfs(c, path);
    };
    dfs(this, []);
    return out.filter((e) => e !== '');
  }
}

/** RAGFlow's tree_merge (the `laws` method): titles down to the depth-th level found make the path of every body chunk. */
export function treeMerge(bull: number, input: readonly (string | LaidSection)[], depth: number): string[] {
  if (input.length === 0 || bull < 0) return input.map((s) => (typeof s === 'string' ? s : s[0]));
  const patterns = BULLET_PATTERN[bull]!;
  const sections = input.map((s): LaidSection => (typeof s === 'string' ? [s, ''] : s)).filter(keepSection);
  const lines: [number, string][] = [];
  const levelSet = new Set<number>();
  for (const [raw, layout] of sections) {
    const text = pyStrip(raw.replace(/\u3000/g, ' '));
    let level = patterns.findIndex((p) => p.test(text)) + 1;
    if (level === 0 || notBullet(text)) {
      level = titleLayout(layout) && !notTitle(text) ? patterns.length + 1 : patterns.length + 2;
    }
    if (text.replace(/^\n+|\n+$/g, '') === '') continue;
    lines.push([level, text]);
    levelSet.add(level);
  }
  const sorted = [...levelSet].sort((a, b) => a - b);
  if (sorted.length === 0) return []; // RAGFlow fails on an index error here
  let target = depth <= sorted.length ? sorted[depth - 1]! : sorted[sorted.length - 1]!;
  if (target === patterns.length + 2) target = sorted.length > 1 ? sorted[sorted.length - 2]! : sorted[0]!;
  return new TitleNode(0, target, []).buildTree(lines).getTree();
}

/** The paragraph level RAGFlow's laws Docx reader gives: Word heading N, else the bullet pattern's level, else 0 / below the bullets. */
export function docxQuestionLevel(text: string, heading: number | undefined, bull: number): [number, string] {
  const txt = pyStrip(text.replace(/\u3000/g, ' '));
  if (heading !== undefined) return [heading, txt];
  if (bull < 0) return [0, txt];
  const patterns = BULLET_PATTERN[bull]!;
  const j = patterns.findIndex((p) => p.test(txt));
  return [j >= 0 ? j + 1 : patterns.length + 1, txt];
}

/** The laws Docx tree: h2_level from the paragraph levels, then the Node tree over paragraphs and tables. */
export function docxTree(lines: readonly (readonly [number, string])[], paragraphLevels: ReadonlySet<number>): string[] {
  const sorted = [...paragraphLevels].sort((a, b) => a - b);
  let h2 = 1;
  if (sorted.length > 0) {
    h2 = sorted.length > 1 ? sorted[1]! : 1;
    if (h2 === sorted[sorted.length - 1] && sorted.length > 2) h2 = sorted[sorted.length - 2]!;
  }
  return new TitleNode(0, h2, []).buildTree(lines).getTree();
}

/** Python's binary search of hierarchical_merge: the index of the last item below target, -1 if none. */
function below(arr: readonly number[], target: number): number {
  if (arr.length === 0) return -1;
  if (target > arr[arr.length - 1]!) return arr.length - 1;
  if (target < arr[0]!) return -1;
  let s = 0;
  let e = arr.length;
  while (e - s > 1) {
    const i = (e + s) >> 1;
    if (target > arr[i]!) s = i;
    else e = i;
  }
  return s;
}

/**
 * RAGFlow's hierarchical_merge (the `book` method): every body line and title of the `depth`
 * deepest levels gets the nearest title above it of each higher level; single lines are packed
 * together up to 218 tokens. Returns the groups of lines (joined by "\n" into chunks by the caller).
 */
export function hierarchicalMerge(bull: number, input: readonly (string | LaidSection)[], depth: number): string[][] {
  if (input.length === 0 || bull < 0) return [];
  const patterns = BULLET_PATTERN[bull]!;
  const laid = input.map((s): LaidSection => (typeof s === 'string' ? [s, ''] : s)).filter(keepSection);
  const size = patterns.length;
  const buckets: number[][] = Array.from({ length: size + 2 }, () => []);
  laid.forEach(([txt, layout], i) => {
    const j = patterns.findIndex((p) => p.test(pyStrip(txt)));
    if (j >= 0) buckets[j]!.push(i);
    else if (titleLayout(layout) && !notTitle(txt)) buckets[size]!.push(i);
    else buckets[size + 1]!.push(i);
  });
  const texts = laid.map(([t]) => t);
  const levels = buckets.reverse();
  const cks: number[][] = [];
  const read = new Array<boolean>(texts.length).fill(false);
  levels.slice(0, depth).forEach((arr, i) => {
    for (const j of arr) {
      if (read[j]) continue;
      read[j] = true;
      const ck = [j];
      cks.push(ck);
      if (i + 1 === levels.length - 1) continue;
      for (let ii = i + 1; ii < levels.length; ii++) {
        const jj = below(levels[ii]!, j);
        if (jj < 0) continue;
        if (levels[ii]![jj]! > ck[ck.length - 1]!) ck.pop();
        ck.push(levels[ii]![jj]!);
      }
      for (const k of ck) read[k] = true;
    }
  });
  if (cks.length === 0) return [];
  const res: string[][] = [[]];
  const num: number[] = [0];
  for (const idx of cks) {
    const ck = [...idx].reverse().map((j) => texts[j]!);
    if (ck.length === 1) {
      const n = countTokens(ck[0]!.replace(/@@[0-9]+.*/g, ''));
      if (n + num[num.length - 1]! < 218) {
        res[res.length - 1]!.push(ck[0]!);
        num[num.length - 1]! += n;
        continue;
      }
      res.push(ck);
      num.push(n);
      continue;
    }
    res.push(ck);
    num.push(218);
  }
  return res;
}
