import { pythonJsonDumps, pythonStr } from '@ragline/python-repr';
import type { Redis } from 'ioredis';
import { xxh64Hex } from './hash.js';

/** RAGFlow's LLM cache lifetime (set_llm_cache: 24 h). */
export const LLM_CACHE_TTL_S = 24 * 3600;
/** RAGFlow's tag set cache lifetime (set_tags_to_cache: 10 min). */
export const TAGS_CACHE_TTL_S = 600;

/**
 * RAGFlow's LLM cache key (rag/graphrag/utils.py get_llm_cache / set_llm_cache): the xxh64 hex digest
 * of UTF-8 `str(llmnm) + str(txt) + str(history) + str(genconf)`, with Python's str() (dicts and lists
 * as their repr). RAGFlow passes the kind as history ("keywords", "question", "metadata") or, for
 * tags, the tag set dict; genconf is {"topn": n} or the metadata configuration.
 */
export function llmCacheKey(llmName: string, text: string, history: unknown, genConf: unknown): string {
  return xxh64Hex(pythonStr(llmName) + pythonStr(text) + pythonStr(history) + pythonStr(genConf));
}

/** RAGFlow's tag set cache key (get_tags_from_cache): xxh64 of `str(kb_ids)`, the Python list repr. */
export function tagsCacheKey(kbIds: string[]): string {
  return xxh64Hex(pythonStr(kbIds));
}

/**
 * The LLM answer cache RAGFlow and Ragline share: plain GET/SET of the answer text under RAGFlow's
 * key, in the Redis (and DB) RAGFlow uses. An empty value is a miss, as RAGFlow's `if not bin`.
 */
export class LlmCache {
  constructor(private readonly redis: Redis) {}

  async get(llmName: string, text: string, history: unknown, genConf: unknown): Promise<string | undefined> {
    const v = await this.redis.get(llmCacheKey(llmName, text, history, genConf));
    return v ? v : undefined;
  }

  async set(llmName: string, text: string, value: string, history: unknown, genConf: unknown): Promise<void> {
    await this.redis.set(llmCacheKey(llmName, text, history, genConf), value, 'EX', LLM_CACHE_TTL_S);
  }

  /** The tag set of these tag knowledge bases as cached (tag -> share, in RAGFlow's order), or undefined. */
  async getTags(kbIds: string[]): Promise<TagSet | undefined> {
    const v = await this.redis.get(tagsCacheKey(kbIds));
    return v ? parseTagSet(v) : undefined;
  }

  /** Stored as Python's json.dumps writes it, so RAGFlow reads the same text. */
  async setTags(kbIds: string[], tags: TagSet): Promise<void> {
    await this.redis.set(tagsCacheKey(kbIds), pythonJsonDumps(tags), 'EX', TAGS_CACHE_TTL_S);
  }
}

/**
 * A tag set: tag -> its share of the tag knowledge bases' tag counts, in the doc store's aggregation
 * order. A Map, because the order is part of RAGFlow's LLM cache key (str(all_tags)) and a plain
 * object would move integer-like tags ("2024") to the front.
 */
export type TagSet = Map<string, number>;

const ENTRY = /"((?:[^"\\]|\\.)*)"\s*:\s*(-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|NaN|-?Infinity)/gy;

/** Reads json.dumps of a flat str -> number dict keeping its key order (JSON.parse would not); undefined if it is not one. */
export function parseTagSet(text: string): TagSet | undefined {
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return undefined;
  const body = t.slice(1, -1).trim();
  const out: TagSet = new Map();
  if (!body) return out;
  ENTRY.lastIndex = 0;
  let pos = 0;
  for (;;) {
    ENTRY.lastIndex = pos;
    const m = ENTRY.exec(body);
    if (!m) return undefined;
    const num = m[2]!;
    out.set(JSON.parse(`"${m[1]!}"`) as string, num === 'NaN' ? NaN : num === 'Infinity' ? Infinity : num === '-Infinity' ? -Infinity : Number(num));
    pos = ENTRY.lastIndex;
    const rest = /^\s*,\s*/.exec(body.slice(pos));
    if (!rest) return pos === body.length || /^\s*$/.test(body.slice(pos)) ? out : undefined;
    pos += rest[0].length;
  }
}
