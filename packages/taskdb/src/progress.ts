/** RAGFlow's `TASK_MAX_LOG_LENGTH`: characters of progress_msg kept (the tail). */
export const TASK_MAX_LOG_LENGTH = 3000;

export interface PageRange {
  from: number;
  to: number;
}

export interface ProgressLineOptions {
  /** timestamp of the event; the line shows its local HH:MM:SS (default: now) */
  at?: Date;
  /** adds RAGFlow's `Page(from+1~to): ` prefix when `to > 0` and `from < to` */
  pageRange?: PageRange | null;
  /** prefixes `[ERROR]` as RAGFlow does for negative progress */
  failed?: boolean;
}

/** `HH:MM:SS` in the process's local time zone, as Python's `datetime.now().strftime('%H:%M:%S')`. */
export function clockTime(at: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/**
 * One progress_msg line the way RAGFlow's `set_progress` builds it: `[ERROR]` for failures,
 * then `Page(a~b): `, then `HH:MM:SS `. An empty message stays empty (nothing is appended).
 */
export function formatProgressLine(msg: string, opts: ProgressLineOptions = {}): string {
  let line = msg;
  if (opts.failed) line = `[ERROR]${line}`;
  const range = opts.pageRange;
  if (range && range.to > 0 && line && range.from < range.to) line = `Page(${range.from + 1}~${range.to}): ${line}`;
  if (line) line = `${clockTime(opts.at)} ${line}`;
  return line;
}

/**
 * RAGFlow's `trim_header_by_lines`: when the text is longer than `maxLength` characters (code
 * points, as Python counts), drop whole leading lines, cutting just after the first newline that
 * leaves at most `maxLength` characters. Without such a newline the text is returned unchanged.
 */
export function trimHeaderByLines(text: string, maxLength: number = TASK_MAX_LOG_LENGTH): string {
  // Fast path: UTF-16 length is an upper bound of the code point count.
  if (text.length <= maxLength) return text;
  const chars = Array.from(text);
  const len = chars.length;
  if (len <= maxLength) return text;
  for (let i = 0; i < len; i++) {
    if (chars[i] === '\n' && len - i <= maxLength) return chars.slice(i + 1).join('');
  }
  return text;
}

/** `old + "\n" + line`, trimmed; what `update_progress` stores when a message is given. */
export function appendProgressMsg(old: string | null | undefined, line: string, maxLength = TASK_MAX_LOG_LENGTH): string {
  if (!line) return old ?? '';
  return trimHeaderByLines(`${old ?? ''}\n${line}`, maxLength);
}

/**
 * RAGFlow's monotonic progress rule: a new value replaces the current one when it is >= 1, or
 * when the task has not failed (-1) and the value is -1 or higher than the current one.
 * Returns the resulting progress.
 */
export function nextProgress(current: number, incoming: number): number {
  const p = incoming < 0 ? -1 : incoming;
  if (p >= 1 || (current !== -1 && (p === -1 || p > current))) return p;
  return current;
}
