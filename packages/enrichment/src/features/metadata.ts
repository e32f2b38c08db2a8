import { pythonStr } from '@ragline/python-repr';
import { parseJsonAnswer, stripThinking } from '../answer.js';
import { fitPrompt, metadataPrompt } from '../prompts.js';
import { cachedStep, chatFailureIsChunkLevel, type EnrichChunk, type FeatureContext } from './context.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function isJsonSchema(o: unknown): boolean {
  if (!isObj(o)) return false;
  return '$schema' in o || (o.type === 'object' && isObj(o.properties));
}

function isMetadataList(o: unknown): o is Obj[] {
  if (!Array.isArray(o) || o.length === 0) return false;
  return o.every((item) => {
    if (!isObj(item)) return false;
    if (typeof item.key !== 'string' || !item.key) return false;
    if ('enum' in item && item.enum != null && !Array.isArray(item.enum)) return false;
    if ('description' in item && item.description != null && typeof item.description !== 'string') return false;
    if ('descriptions' in item && item.descriptions != null && typeof item.descriptions !== 'string') return false;
    return true;
  });
}

/** RAGFlow's turn2jsonschema: a JSON schema as it is, a field list ({key, description|descriptions, enum?}) as an object schema, else {}. */
export function turn2jsonschema(conf: unknown): Obj {
  if (isObj(conf) && isJsonSchema(conf)) return conf;
  if (isMetadataList(conf)) {
    const properties: Obj = {};
    for (const item of conf) {
      const description = (item.description as string | undefined) || (item.descriptions as string | undefined) || '';
      const prop: Obj = { description };
      if (Array.isArray(item.enum) && item.enum.length > 0) {
        prop.enum = item.enum;
        prop.type = 'string';
      }
      properties[item.key as string] = prop;
    }
    return { type: 'object', properties, additionalProperties: false };
  }
  return {};
}

/**
 * RAGFlow's metadata configuration (build_metadata_config): `metadata` as a schema gets the
 * built-in fields' properties added, as a list gets them appended, anything else is the built-ins.
 * It is the genconf of the metadata cache key, so its shape and key order matter.
 */
export function buildMetadataConfig(metadata: unknown, builtIn: unknown[] | undefined): Obj | unknown[] {
  const builtInList = [...(builtIn ?? [])];
  // RAGFlow reads parser_config.get("metadata", []): an absent field is the empty list
  let conf: unknown = metadata === undefined ? [] : metadata;
  if (isObj(conf)) {
    if (!isObj(conf.properties)) conf = { type: 'object', properties: {} };
    if (builtInList.length) {
      const c = conf as Obj;
      conf = { ...c, properties: { ...(c.properties as Obj), ...((turn2jsonschema(builtInList).properties as Obj | undefined) ?? {}) } };
    }
    return conf as Obj;
  }
  if (Array.isArray(conf)) return [...(conf as unknown[]), ...builtInList];
  return builtInList;
}

/** Python's `isinstance(v, (str, bool, int, float)) or v is None` for JSON values. */
const isScalar = (v: unknown): boolean => v === null || ['string', 'boolean', 'number'].includes(typeof v);

/** RAGFlow's dedupe_list: first occurrence of each str() kept. */
function dedupe(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = pythonStr(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * RAGFlow's update_metadata_to(metadata, meta): merges `meta` (an object, or model text read with
 * JSON repair) into `metadata` and returns it. Strings and string lists merge into deduplicated lists;
 * scalars replace; structured values (dicts, lists of non-strings) are kept only where absent.
 */
export function updateMetadataTo(metadata: Obj, meta: unknown): Obj {
  if (!meta) return metadata;
  if (typeof meta === 'string') {
    meta = parseJsonAnswer(meta);
  }
  if (!isObj(meta)) return metadata;
  for (const [k, raw] of Object.entries(meta)) {
    let v = raw;
    if (Array.isArray(v)) {
      if (v.every((x) => typeof x === 'string')) {
        if (v.length === 0) continue;
        v = dedupe(v);
      } else {
        if (!(k in metadata)) metadata[k] = v;
        continue;
      }
    } else if (!isScalar(v)) {
      if (!(k in metadata)) metadata[k] = v;
      continue;
    }
    if (!(k in metadata)) {
      metadata[k] = v;
      continue;
    }
    const cur = metadata[k];
    if (Array.isArray(cur) && (Array.isArray(v) || typeof v === 'string')) {
      if (!cur.every((x) => typeof x === 'string')) continue;
      metadata[k] = dedupe(Array.isArray(v) ? [...cur, ...v] : [...cur, v]);
    } else {
      metadata[k] = v;
    }
  }
  return metadata;
}

/** The schema the model is shown (RAGFlow's gen_metadata cleanup): empty enum lists dropped; the configuration itself stays untouched. */
export function promptSchema(schema: Obj): Obj {
  const copy = structuredClone(schema);
  for (const desc of Object.values((copy.properties as Obj | undefined) ?? {})) {
    if (isObj(desc) && 'enum' in desc && !(Array.isArray(desc.enum) && desc.enum.length > 0)) delete desc.enum;
  }
  return copy;
}

/**
 * enable_metadata for one chunk: the model's metadata answer, cached under (llm_name, content,
 * "metadata", configuration). RAGFlow keeps the raw answer text (think block removed) and reads it
 * with JSON repair when merging.
 */
export async function chunkMetadata(ctx: FeatureContext, chunk: EnrichChunk, conf: Obj | unknown[]): Promise<string | undefined> {
  const text = chunk.content_with_weight;
  const schema = turn2jsonschema(conf);
  return cachedStep(ctx, 'metadata', { text, history: 'metadata', genConf: conf }, async () => {
    // RAGFlow's gen_metadata: nothing to ask without a schema with properties
    if (!isObj(schema) || !('properties' in schema)) return '';
    const prompt = fitPrompt(metadataPrompt(promptSchema(schema)), text, ctx.chat.model.maxInputTokens);
    try {
      return stripThinking(await ctx.chat.model.chat({ ...prompt, signal: ctx.signal }));
    } catch (err) {
      if (!chatFailureIsChunkLevel(err)) throw err;
      ctx.logger?.warn({ err: (err as Error).message }, 'chat request refused for a chunk; its metadata is left out');
      return '';
    }
  });
}
